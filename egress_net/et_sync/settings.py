"""Run-time settings of the sync, read by the Lambda from its environment (stdlib only).

The stack config is validated by ``egress_net.et_sync.model`` (pydantic) at deploy time; the
component serialises the result into one JSON environment variable, and the function reads it
back here without pydantic, so the deployed code needs only the standard library and boto3.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from egress_net.et_sync.errors import SyncError

SETTINGS_ENV = "EGRESS_NET_ET_SYNC"
DEFAULT_SOURCE_URL = "https://rules.emergingthreats.net/open/suricata-5.0/emerging.rules.tar.gz"

# The ET rule groups the program declares by default: the 2024 set (all categories) has 22,809
# rules Network Firewall accepts, in at least 7 groups (the 2 MB rules string decides); 8 x
# 3,100 = 24,800 leaves ~9% to grow and 5,200 of the 30,000 policy quota for the hub's groups.
DEFAULT_GROUPS = 8
DEFAULT_GROUP_CAPACITY = 3_100
# The function's memory, and the most a tarball may unpack to. Extracting holds the unpacked
# tar and the decoded texts at once: at most EXTRACT_PEAK_FACTOR x the cap (measured in
# tests/et_sync/test_fetch.py), which must leave half the memory for parsing and planning (the
# 2024 set unpacks to 20 MB). Without the cap, a 255 KB archive unpacked to 771 MB.
FUNCTION_MEMORY_MB = 1024
EXTRACT_PEAK_FACTOR = 4
DEFAULT_MAX_EXTRACTED_BYTES = 96 * 1024 * 1024


@dataclass(frozen=True)
class GroupSlot:
    """One ET rule group the program declared (name and capacity fixed by ``pulumi up``).

    The function fills it with rules and nothing else: it never creates, deletes or
    attaches a group, so the firewall policy has one writer (Pulumi).
    """

    name: str
    capacity: int
    arn: str = ""


@dataclass(frozen=True)
class SyncSettings:
    """Everything one sync run needs; AWS identifiers are empty for a local dry run."""

    source_url: str = DEFAULT_SOURCE_URL
    md5_url: str = ""
    groups: tuple[GroupSlot, ...] = ()
    version_parameter: str = ""
    bucket: str = ""
    prefix: str = "et-sync/"
    include_categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    ids_to_ips_categories: tuple[str, ...] = ()
    # "alert": the firewall never drops, so no rule is converted to drop (idsToIpsCategories
    # is ignored).
    firewall_mode: str = "drop"
    home_net: tuple[str, ...] = ()
    ip_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    port_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    max_download_bytes: int = 64 * 1024 * 1024
    max_extracted_bytes: int = DEFAULT_MAX_EXTRACTED_BYTES
    timeout_seconds: float = 30.0

    @property
    def effective_md5_url(self) -> str:
        return self.md5_url or f"{self.source_url}.md5"

    @property
    def account(self) -> str:
        """The hub's account (that of the declared groups), or "" for a local dry run."""
        arn = self.groups[0].arn if self.groups else ""
        parts = arn.split(":")
        return parts[4] if len(parts) > 5 else ""

    @property
    def converts_to_drop(self) -> tuple[str, ...]:
        """Categories whose alert rules become drop: none in alert mode."""
        return () if self.firewall_mode == "alert" else self.ids_to_ips_categories

    def fingerprint(self) -> str:
        """What the rules written depend on besides the ruleset, as a short digest.

        Group ARNs are left out: a replaced group holds the placeholder, which the marker
        check sees anyway, and the other groups need no rewrite for it.
        """
        data = asdict(self)
        data["groups"] = [{"name": g.name, "capacity": g.capacity} for g in self.groups]
        for name in ("bucket", "prefix", "version_parameter", "timeout_seconds"):
            data.pop(name)
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        """Compact: Lambda allows 4 KB for all of a function's environment variables. A
        group with an ARN is written without its name (the ARN ends with it)."""
        data = asdict(self)
        data["groups"] = [
            {"arn": g.arn, "capacity": g.capacity}
            if g.arn.endswith(f"/{g.name}")
            else {"name": g.name, "capacity": g.capacity, "arn": g.arn}
            for g in self.groups
        ]
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

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
            if "groups" in values:
                values["groups"] = tuple(
                    GroupSlot(
                        name=str(slot.get("name") or str(slot["arn"]).rsplit("/", 1)[-1]),
                        capacity=int(slot["capacity"]),
                        arn=str(slot.get("arn", "")),
                    )
                    for slot in values["groups"]  # type: ignore[attr-defined]
                )
            return cls(**values)  # type: ignore[arg-type]
        except (TypeError, KeyError, AttributeError, ValueError) as err:
            raise SyncError(SETTINGS_ENV, f"malformed settings: {err!r}", "redeploy") from err

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
