"""Stack config model for ``rules.emergingThreats`` (validated at deploy time, pydantic).

Not imported by the deployed function: ``to_settings`` turns the validated config into the
stdlib ``SyncSettings`` that the component hands to the function as JSON.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from egress_net.aws_limits import KMS_KEY_ONLY_ARN, LOG_RETENTION_DAYS
from egress_net.et_sync.apply import FUNCTION_TIMEOUT_S, GROUP_WRITE_BUDGET_MS, max_groups
from egress_net.et_sync.select import normalize_category
from egress_net.et_sync.settings import (
    DEFAULT_GROUP_CAPACITY,
    DEFAULT_GROUPS,
    DEFAULT_SOURCE_URL,
    GroupSlot,
    SyncSettings,
)
from egress_net.rules.policy import ALLOW_DOMAINS_PRIORITY, ET_PRIORITY_MIN

# EventBridge schedule expressions: rate(1 day), rate(12 hours), cron(0 3 * * ? *).
_SCHEDULE = re.compile(
    r"^(rate\(\s*[1-9]\d*\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\(.+\))$"
)
_VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_PORT = re.compile(r"^(\d{1,5})(:(\d{1,5}))?$")


_MODEL_CONFIG = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class EmergingThreatsConfig(BaseModel):
    """``rules.emergingThreats``: the scheduled ET Open sync. Off unless ``enabled``."""

    model_config = _MODEL_CONFIG

    enabled: bool = False
    # Hourly: an unchanged run costs one md5 request and metadata reads, and a group that
    # `pulumi up` replaced holds the placeholder for at most an hour.
    schedule: str = "rate(1 hour)"
    source_url: str = DEFAULT_SOURCE_URL
    md5_url: str = ""
    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    ids_to_ips_categories: list[str] = Field(default_factory=list)
    home_net: list[str] = Field(default_factory=list)
    ip_sets: dict[str, list[str]] = Field(default_factory=dict)
    port_sets: dict[str, list[str]] = Field(default_factory=dict)
    # The ET rule groups the program declares; the function only fills them. Capacity is fixed
    # when a group is created: raising it replaces the groups on the next `pulumi up`.
    groups: int = Field(DEFAULT_GROUPS, ge=1, le=20)
    group_capacity: int = Field(DEFAULT_GROUP_CAPACITY, ge=100, le=30_000)
    # Between the hub's own groups (10-200) and its allow list (last): see rules.policy.
    # The groups take priorityStart, priorityStart + 1, ...
    priority_start: int = Field(
        ET_PRIORITY_MIN, ge=ET_PRIORITY_MIN, le=ALLOW_DOMAINS_PRIORITY - 1_000
    )
    max_download_mb: int = Field(64, ge=1, le=512)
    timeout_seconds: float = Field(30.0, gt=0, le=300)
    log_retention_days: int = 30
    # Encrypts the function's log group with this key (its key policy must let
    # logs.<region>.amazonaws.com use it); unset: CloudWatch Logs' own encryption.
    log_kms_key_arn: str | None = None
    bucket: str = ""
    bucket_prefix: str = "et-sync/"

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not _SCHEDULE.match(value.strip()):
            raise ValueError("use an EventBridge expression such as 'rate(1 day)' or 'cron(...)'")
        return value.strip()

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
            raise ValueError(f"CloudWatch Logs retention must be one of {allowed}")
        return value

    @field_validator("log_kms_key_arn")
    @classmethod
    def _log_key(cls, value: str | None) -> str | None:
        if value is not None and not KMS_KEY_ONLY_ARN.match(value):
            raise ValueError(
                f"{value!r} is not a KMS key ARN like "
                "arn:aws:kms:us-east-1:123456789012:key/<uuid> (CloudWatch Logs takes no alias)"
            )
        return value

    @field_validator("bucket_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        # One spelling for the function's keys and the IAM resource: "a/b/", or "" for root.
        value = value.strip().strip("/")
        if any(part in ("", ".", "..") for part in value.split("/")) and value:
            raise ValueError(f"{value!r} is not a plain S3 key prefix like 'security/et-sync'")
        return f"{value}/" if value else ""

    @field_validator("source_url", "md5_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if value and urlparse(value).scheme != "https":
            raise ValueError("the ruleset must be fetched over https")
        return value

    @field_validator("include_categories", "exclude_categories", "ids_to_ips_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        return [normalize_category(name) for name in value]

    @field_validator("home_net")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(cidr, strict=True)) for cidr in value]

    @field_validator("ip_sets")
    @classmethod
    def _ip_sets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, cidrs in value.items():
            _check_variable_name(name)
            if not cidrs:
                raise ValueError(f"{name}: give at least one CIDR")
            for cidr in cidrs:
                ipaddress.ip_network(cidr, strict=True)
        return value

    @field_validator("port_sets")
    @classmethod
    def _port_sets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, ports in value.items():
            _check_variable_name(name)
            if not ports:
                raise ValueError(f"{name}: give at least one port or range")
            for port in ports:
                match = _PORT.match(port)
                low = int(match.group(1)) if match else -1
                high = int(match.group(3) or low) if match else -1
                if not match or not 0 <= low <= high <= 65535:
                    raise ValueError(f"{name}: {port!r} is not a port or range like '8000:8080'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EmergingThreatsConfig:
        both = sorted(set(self.include_categories) & set(self.exclude_categories))
        if both:
            raise ValueError(f"categories both included and excluded: {both}")
        fit = max_groups(self.timeout_seconds)
        if self.groups > fit:
            raise ValueError(
                f"groups: {self.groups} groups cannot be written within the function's "
                f"{FUNCTION_TIMEOUT_S} s timeout: the run keeps {GROUP_WRITE_BUDGET_MS // 1000} s "
                "per group to write and roll back, after two downloads of up to timeoutSeconds "
                f"({self.timeout_seconds:g} s) each, so a run would stop and roll back instead of "
                "finishing; "
                f"use at most {fit} groups (a larger groupCapacity holds the same rules), or a "
                "lower timeoutSeconds"
            )
        return self

    def group_keys(self) -> list[str]:
        """The declared ET groups' names before the stack's token (egress_net.naming). The
        capacity is in the name: a new capacity is a new group, created before the old one is
        deleted."""
        return [f"et-{index + 1}-c{self.group_capacity}" for index in range(self.groups)]

    def group_names(self, rule_group_prefix: str) -> list[str]:
        """The groups' names under a plain prefix, for a local dry run."""
        return [f"{rule_group_prefix}-{key}" for key in self.group_keys()]

    def to_settings(
        self,
        *,
        groups: list[GroupSlot] | None = None,
        rule_group_prefix: str = "egress-net",
        version_parameter: str = "",
        bucket: str = "",
        home_net: list[str] | None = None,
        external_net: list[str] | None = None,
        firewall_mode: str = "drop",
    ) -> SyncSettings:
        """The run-time settings; ``home_net`` (the spoke supernets) applies when unset here.

        ``groups`` are the declared groups with their ARNs; a local dry run names them from
        ``rule_group_prefix``. ``external_net`` defines EXTERNAL_NET (a TGW-attached firewall
        needs it in every group) unless ``ipSets`` does.
        """
        slots = groups or [
            GroupSlot(name=name, capacity=self.group_capacity)
            for name in self.group_names(rule_group_prefix)
        ]
        ip_sets = {k: tuple(v) for k, v in self.ip_sets.items()}
        if external_net and "EXTERNAL_NET" not in ip_sets:
            ip_sets["EXTERNAL_NET"] = tuple(external_net)
        return SyncSettings(
            source_url=self.source_url,
            md5_url=self.md5_url,
            groups=tuple(slots),
            version_parameter=version_parameter,
            bucket=bucket or self.bucket,
            prefix=self.bucket_prefix,
            include_categories=tuple(self.include_categories),
            exclude_categories=tuple(self.exclude_categories),
            ids_to_ips_categories=tuple(self.ids_to_ips_categories),
            firewall_mode=firewall_mode,
            home_net=tuple(self.home_net or home_net or ()),
            ip_sets=ip_sets,
            port_sets={k: tuple(v) for k, v in self.port_sets.items()},
            max_download_bytes=self.max_download_mb * 1024 * 1024,
            timeout_seconds=self.timeout_seconds,
        )


def _check_variable_name(name: str) -> None:
    if not _VARIABLE_NAME.match(name):
        raise ValueError(f"{name!r}: variable names are letters, digits and _ (max 32)")
