"""Run-time settings of the sync, read by the Lambda from its environment (stdlib only).

The stack config is validated by ``egress_net.et_sync.model`` (pydantic) at deploy time; the
component serialises the result into one JSON environment variable, and the function reads it
back here without pydantic, so the deployed code needs only the standard library and boto3.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from egress_net.et_sync.errors import SyncError

SETTINGS_ENV = "EGRESS_NET_ET_SYNC"
DEFAULT_SOURCE_URL = "https://rules.emergingthreats.net/open/suricata-5.0/emerging.rules.tar.gz"

# Network Firewall default quotas (Service Quotas, adjustable): a stateful rule group holds at
# most 30,000 capacity, a policy references at most 30,000 stateful capacity and 20 groups.
DEFAULT_GROUP_CAPACITY_MAX = 30_000
DEFAULT_POLICY_CAPACITY = 30_000
DEFAULT_POLICY_GROUPS = 20


@dataclass(frozen=True)
class Quotas:
    """The capacity the ET groups may use: the quotas minus what the user's own groups need."""

    group_capacity_max: int = DEFAULT_GROUP_CAPACITY_MAX
    policy_capacity: int = DEFAULT_POLICY_CAPACITY
    policy_groups: int = DEFAULT_POLICY_GROUPS
    reserved_capacity: int = 5_000
    reserved_groups: int = 5
    headroom_percent: int = 10

    @property
    def capacity_budget(self) -> int:
        return self.policy_capacity - self.reserved_capacity

    @property
    def group_budget(self) -> int:
        return self.policy_groups - self.reserved_groups


@dataclass(frozen=True)
class SyncSettings:
    """Everything one sync run needs; AWS identifiers are empty for a local dry run."""

    source_url: str = DEFAULT_SOURCE_URL
    md5_url: str = ""
    policy_arn: str = ""
    rule_group_prefix: str = "egress-net"
    version_parameter: str = ""
    bucket: str = ""
    prefix: str = "et-sync/"
    include_categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    ids_to_ips_categories: tuple[str, ...] = ()
    home_net: tuple[str, ...] = ()
    ip_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    port_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    quotas: Quotas = field(default_factory=Quotas)
    priority_start: int = 1_000
    max_download_bytes: int = 64 * 1024 * 1024
    max_extracted_bytes: int = 256 * 1024 * 1024
    timeout_seconds: float = 30.0

    @property
    def effective_md5_url(self) -> str:
        return self.md5_url or f"{self.source_url}.md5"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SyncSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SyncError(SETTINGS_ENV, f"unknown settings {unknown}", "redeploy the stack")
        values: dict[str, object] = dict(data)
        for name in ("include_categories", "exclude_categories", "ids_to_ips_categories"):
            if name in values:
                values[name] = tuple(values[name])  # type: ignore[arg-type]
        if "home_net" in values:
            values["home_net"] = tuple(values["home_net"])  # type: ignore[arg-type]
        for name in ("ip_sets", "port_sets"):
            if name in values:
                values[name] = {key: tuple(value) for key, value in _mapping(values, name).items()}
        try:
            if "quotas" in values:
                values["quotas"] = Quotas(**_mapping(values, "quotas"))
            return cls(**values)  # type: ignore[arg-type]
        except TypeError as err:
            raise SyncError(SETTINGS_ENV, f"malformed settings: {err}", "redeploy") from err

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SyncSettings:
        env = os.environ if environ is None else environ
        raw = env.get(SETTINGS_ENV)
        if not raw:
            raise SyncError(SETTINGS_ENV, "environment variable is not set", "redeploy the stack")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as err:
            raise SyncError(SETTINGS_ENV, f"not valid JSON: {err}", "redeploy the stack") from err
        if not isinstance(data, dict):
            raise SyncError(SETTINGS_ENV, "must be a JSON object", "redeploy the stack")
        return cls.from_dict(data)


def _mapping(values: Mapping[str, object], name: str) -> Mapping[str, object]:
    raw = values[name]
    if not isinstance(raw, Mapping):
        raise SyncError(f"{SETTINGS_ENV}.{name}", "must be a JSON object", "redeploy the stack")
    return raw
