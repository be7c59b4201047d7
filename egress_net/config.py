"""Stack config: pydantic models and every check that needs only the config.

Keys live under the ``egress-net:`` namespace in ``Pulumi.<stack>.yaml`` and are camelCase.
Every problem is reported as a :class:`ConfigError` naming the full key
(``egress-net:spokes[1].cidr``) and what to change; all problems found in one pass are reported
together. Nothing here touches Pulumi resources or the network.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from egress_net import addressing, dns_plan, intent
from egress_net.aws_limits import KMS_KEY_ARN, LOG_RETENTION_DAYS
from egress_net.errors import ConfigError, ConfigErrors
from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.partitions import partition_of
from egress_net.rules.ingress import load_balancer_sources
from egress_net.rules.model import Domain, Reason
from egress_net.rules.model import RulesConfig as BaseRulesConfig
from egress_net.rules.suffixes import shared_suffix_match

NAMESPACE = "egress-net"
CONTRACT_VERSION = 1  # version of the hub's stack-output contract that spokes read

_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}
_AZ_ID = re.compile(r"^(?P<region>[a-z]{3,8}\d+)-az(?P<number>\d{1,2})$")
_REGION = re.compile(r"^(?P<area>[a-z]{2})-(?:(?P<gov>gov|iso|isob)-)?(?P<dir>[a-z]+)-(?P<n>\d+)$")
_SPOKE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# EC2 resource IDs: a prefix and 8 or 17 hexadecimal digits (EC2 User Guide, "Resource IDs").
_TGW_ATTACHMENT_ID = re.compile(r"^tgw-attach-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_ROLE_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$"
)
_ORG_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:organizations::\d{12}:organization/o-[a-z0-9]{10,32}$"
)
_OU_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:organizations::\d{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$"
)
_STACK_NAME = re.compile(r"^[\w.-]+(?:/[\w.-]+){0,2}$")


def region_code(region: str) -> str | None:
    """The AZ-ID prefix of a region: us-east-1 → use1, ap-northeast-1 → apne1; None if unknown."""
    m = _REGION.match(region)
    if not m or m["dir"] not in _DIRECTIONS:
        return None
    gov = {"gov": "g", "iso": "i", "isob": "ib"}.get(m["gov"] or "", "")
    return f"{m['area']}{gov}{_DIRECTIONS[m['dir']]}{m['n']}"


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


class SpokeConfig(_Model):
    """A workload VPC whose internet-bound traffic goes through the hub."""

    name: str
    cidr: str
    account_id: str | None = None
    role_arn: str | None = None
    az_ids: list[str] | None = None  # default: all of the hub's AZs
    # combined model: "distributed" gives this spoke its own firewall, NAT and IGW.
    model: Literal["tgw", "distributed"] | None = None
    # Domains only this spoke may reach (TLS SNI / HTTP host), on top of rules.allowDomains.
    allow_domains: list[Domain] = Field(default_factory=list)
    # allowDomains entry at or above a shared suffix -> why it is accepted anyway.
    acknowledge_shared_suffix: dict[Domain, Reason] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v == "hub" or v.startswith("hub-"):
            raise ValueError(
                f"{v!r} is reserved: the hub's own resources and log groups are named hub-*"
            )
        if not _SPOKE_NAME.match(v):
            raise ValueError(
                f"{v!r} is not a valid spoke name: use 1-32 lowercase letters, digits and '-', "
                "starting with a letter (it becomes part of resource names)"
            )
        return v

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        return str(parse_cidr(v))

    @field_validator("account_id")
    @classmethod
    def _account(cls, v: str | None) -> str | None:
        if v is not None and not _ACCOUNT_ID.match(v):
            raise ValueError(f"{v!r} is not an AWS account ID: 12 digits, quoted in YAML")
        return v

    @field_validator("role_arn")
    @classmethod
    def _role(cls, v: str | None) -> str | None:
        if v is not None and not _ROLE_ARN.match(v):
            raise ValueError(
                f"{v!r} is not an IAM role ARN like "
                "arn:aws:iam::123456789012:role/egress-net-deploy"
            )
        return v

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    @property
    def role_account(self) -> str | None:
        m = _ROLE_ARN.match(self.role_arn or "")
        return m["account"] if m else None


class ProtectionsConfig(_Model):
    delete: bool = True
    subnet_change: bool = True
    policy_change: bool = True


_ACM_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")


class TlsInspectionConfig(_Model):
    """Outbound TLS inspection: the firewall decrypts HTTPS to apply HTTP rules, re-signing
    with your CA certificate (imported into ACM; clients must trust it)."""

    certificate_authority_arn: str
    # TCP destination ports to decrypt.
    ports: list[int] = Field(default_factory=lambda: [443])
    # What to do with a server certificate that is revoked or whose status is unknown.
    revoked_status_action: Literal["PASS", "DROP", "REJECT"] = "DROP"
    unknown_status_action: Literal["PASS", "DROP", "REJECT"] = "PASS"

    @field_validator("certificate_authority_arn")
    @classmethod
    def _acm(cls, v: str) -> str:
        if not _ACM_ARN.match(v):
            raise ValueError(
                f"{v!r} is not an ACM certificate ARN like "
                "arn:aws:acm:us-east-1:123456789012:certificate/<uuid>"
            )
        return v

    @field_validator("ports")
    @classmethod
    def _ports(cls, v: list[int]) -> list[int]:
        if not v or any(not 1 <= p <= 65535 for p in v):
            raise ValueError("give one or more TCP ports between 1 and 65535")
        return sorted(set(v))


class FirewallConfig(_Model):
    # drop: deny by default, pass only what the allowlist names. alert: pass all and log (rollout).
    mode: Literal["drop", "alert"] = "drop"
    protections: ProtectionsConfig = Field(default_factory=ProtectionsConfig)
    tls_inspection: TlsInspectionConfig | None = None

    @field_validator("protections", mode="before")
    @classmethod
    def _all_or_nothing(cls, v: Any) -> Any:
        # `protections: false` is the short form for a sandbox that must be torn down freely.
        if isinstance(v, bool):
            return {"delete": v, "subnetChange": v, "policyChange": v}
        return v


class RulesConfig(BaseRulesConfig):
    """``rules``: the firewall rules (egress_net.rules.model) plus the Emerging Threats sync."""

    emerging_threats: EmergingThreatsConfig = Field(default_factory=EmergingThreatsConfig)


class ShareConfig(_Model):
    """Who may attach VPCs to the Transit Gateway (AWS RAM). External principals are refused."""

    principals: list[str] = Field(default_factory=list)

    @field_validator("principals")
    @classmethod
    def _principals(cls, v: list[str]) -> list[str]:
        for i, p in enumerate(v):
            if not (_ACCOUNT_ID.match(p) or _ORG_ARN.match(p) or _OU_ARN.match(p)):
                raise ValueError(
                    f"[{i}] {p!r} is not an account ID (12 digits, quoted), an organization ARN "
                    "(arn:aws:organizations::<mgmt-account>:organization/o-...) or an OU ARN"
                )
        return v


class TransitGatewayConfig(_Model):
    # Off by default: an attachment from another account waits for acceptance unless the share
    # is limited to your organization and you choose to accept automatically.
    auto_accept: bool = False
    amazon_side_asn: int = 64512
    # egress-only: "two" tables (spoke-to-spoke inspected) or "single" (spoke-to-spoke bypasses
    # the firewall, which must be acknowledged below).
    route_tables: Literal["two", "single"] = "two"
    accept_spoke_to_spoke_bypass: bool = False
    # Put the TGW, its route tables and RAM share in another account (e.g. a network account)
    # through this role; the hub's VPCs and firewall stay in the stack's account.
    owner_role_arn: str | None = None
    # How replies find their spoke in the TGW table they return through: "static" (a route per
    # declared spoke) or "propagated" (every attachment's CIDR, by the TGW default). Default:
    # static when the TGW is shared, so no other account's attachment can claim replies.
    return_routes: Literal["static", "propagated"] | None = None
    # Acknowledges that with autoAccept and a share to an organization or OU, any account in
    # it can attach a VPC without review (refused in drop mode otherwise).
    accept_any_account_attachment: bool = False

    @field_validator("amazon_side_asn")
    @classmethod
    def _asn(cls, v: int) -> int:
        # Private ASNs only: 16-bit 64512-65534 or 32-bit 4200000000-4294967294.
        if not (64512 <= v <= 65534 or 4_200_000_000 <= v <= 4_294_967_294):
            raise ValueError(f"{v} is not a private ASN (64512-65534 or 4200000000-4294967294)")
        return v

    @field_validator("owner_role_arn")
    @classmethod
    def _owner_role(cls, v: str | None) -> str | None:
        if v is not None and not _ROLE_ARN.match(v):
            raise ValueError(
                f"{v!r} is not an IAM role ARN like arn:aws:iam::123456789012:role/network-admin"
            )
        return v

    @property
    def owner_account(self) -> str | None:
        m = _ROLE_ARN.match(self.owner_role_arn or "")
        return m["account"] if m else None


_KMS_KEY_ARN = KMS_KEY_ARN
_BUCKET_NAME = re.compile(r"^(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class LogsConfig(_Model):
    """Where the firewall's ALERT and FLOW logs go."""

    retention_days: int = 365
    destination: Literal["cloudwatch", "s3"] = "cloudwatch"
    # Encrypts the log groups or the bucket with your key instead of AWS-owned keys.
    kms_key_arn: str | None = None
    # s3 only: an existing bucket; without it the hub creates a private, encrypted one.
    bucket_name: str | None = None
    # Keep the log groups and buckets on `pulumi destroy`; unset: kept when the firewall's
    # delete protection is on (the evidence outlives the network it describes).
    retain_on_delete: bool | None = None

    @field_validator("kms_key_arn")
    @classmethod
    def _kms(cls, v: str | None) -> str | None:
        if v is not None and not _KMS_KEY_ARN.match(v):
            raise ValueError(
                f"{v!r} is not a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/<uuid>"
            )
        return v

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        if v is not None and not _BUCKET_NAME.match(v):
            raise ValueError(
                f"{v!r} is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')"
            )
        return v

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"{v} is not a CloudWatch Logs retention; use one of {LOG_RETENTION_DAYS}"
            )
        return v


# Route 53 Resolver DNS Firewall's managed domain lists (dns_plan.MANAGED_DOMAIN_LISTS). AWS
# gives them per-region IDs and pulumi-aws can read a list only by its ID
# (aws.route53.get_resolver_firewall_domain_list), so the config names each list and its ID.
MANAGED_DNS_DOMAIN_LISTS = dns_plan.MANAGED_DOMAIN_LISTS
# A domain list ID as Route 53 Resolver prints it (FirewallDomainList.Id: rslvr-fdl-<hex>).
_DNS_DOMAIN_LIST_ID = re.compile(r"^rslvr-fdl-[0-9a-f]{8,32}$")
# Rule group association priority: "The allowed values for Priority are between 100 and
# 9900" (Route 53 Resolver API, AssociateFirewallRuleGroup Priority; botocore
# route53resolver service-2.json); below and above are Firewall Manager's first and last groups.
DNS_ASSOCIATION_PRIORITIES = (100, 9900)


class ManagedDnsDomainList(_Model):
    """An AWS managed domain list, blocked (drop) or alerted on (alert)."""

    name: str
    id: str

    @field_validator("name")
    @classmethod
    def _managed_name(cls, v: str) -> str:
        if v not in MANAGED_DNS_DOMAIN_LISTS:
            close = difflib.get_close_matches(v, MANAGED_DNS_DOMAIN_LISTS, n=1)
            raise ValueError(
                f"{v!r} is not an AWS managed domain list"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f" (known: {', '.join(MANAGED_DNS_DOMAIN_LISTS)})"
            )
        return v

    @field_validator("id")
    @classmethod
    def _list_id(cls, v: str) -> str:
        if not _DNS_DOMAIN_LIST_ID.match(v):
            raise ValueError(
                f"{v!r} is not a domain list ID like rslvr-fdl-0123456789abcdef; `aws "
                "route53resolver list-firewall-domain-lists` prints the managed lists' IDs "
                "in your region"
            )
        return v


class DnsFirewallConfig(_Model):
    """``dnsFirewall``: Route 53 Resolver DNS Firewall on every spoke VPC.

    The VPC's resolver answers the spokes' DNS queries without crossing the Transit Gateway,
    so the Network Firewall never sees them; DNS Firewall filters them with the same allow
    and deny lists (docs/dns-firewall.md)."""

    enabled: bool = True
    # When DNS Firewall cannot evaluate a query: false (fail closed: the query is refused)
    # or true (fail open: answered unfiltered). Default: closed in drop mode, open in alert.
    fail_open: bool | None = None
    # What a blocked query gets back (drop mode).
    block_response: Literal["NXDOMAIN", "NODATA"] = "NXDOMAIN"
    # Names that must resolve beyond the firewall's allowlist, e.g. private hosted zones or
    # interface endpoints' names (.example.internal = the domain and its subdomains).
    allow_domains: list[Domain] = Field(default_factory=list)
    managed_domain_lists: list[ManagedDnsDomainList] = Field(default_factory=list)
    # The first a VPC's own associations can take: DNS Firewall evaluates a VPC's rule groups
    # lowest priority first, and priorities are unique per VPC, so no group a spoke account
    # associates itself (an allow-all, say) answers before the hub's.
    association_priority: int = DNS_ASSOCIATION_PRIORITIES[0]
    query_logs: bool = True

    @field_validator("association_priority")
    @classmethod
    def _priority(cls, v: int) -> int:
        low, high = DNS_ASSOCIATION_PRIORITIES
        if not low <= v <= high:
            raise ValueError(
                f"{v} is outside {low}-{high}, the priorities AWS accepts for a rule group "
                "association (lower ones and higher ones are Firewall Manager's)"
            )
        return v

    def fails_open(self, mode: str) -> bool:
        """Fail closed where the product promises to block (drop), open where it only
        watches (alert): an alert-mode rollout must never take DNS down."""
        return self.fail_open if self.fail_open is not None else mode == "alert"


# ---------------------------------------------------------------------------------------------
# Ingress: public applications behind the same firewall (see README, "Ingress inspection")

_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$|^[a-z]$")
_HEALTH_PATH = re.compile(r"^/[\x21-\x7e]{0,1023}$")
_MATCHER = re.compile(r"^\d{3}(?:-\d{3})?(?:,\d{3}(?:-\d{3})?)*$")
EVERYONE = "everyone"


class HealthCheckConfig(_Model):
    """How the load balancer decides a target is healthy (ELB target group health checks)."""

    # HTTP/HTTPS applications only: the path probed and the codes that count as healthy.
    path: str = "/"
    matcher: str = "200-399"
    port: int | None = None  # default: the target port
    interval_seconds: int = 30
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        # ELB CreateTargetGroup HealthCheckPath: 1-1024 characters, starting with "/".
        if not _HEALTH_PATH.match(v):
            raise ValueError(f"{v!r} is not a path like /health (1-1024 characters, starts with /)")
        return v

    @field_validator("matcher")
    @classmethod
    def _matcher(cls, v: str) -> str:
        # ELB Matcher.HttpCode: "200", "200,202" or "200-299"; "For Application Load
        # Balancers, you can specify values between 200 and 499" (ELB API reference, Matcher).
        if not _MATCHER.match(v):
            raise ValueError(f"{v!r} is not a list of HTTP codes like 200 or 200-399")
        codes = [int(c) for c in re.split(r"[,-]", v)]
        if not all(200 <= c <= 499 for c in codes):
            raise ValueError(f"{v!r}: a load balancer accepts only HTTP codes 200 to 499")
        return v

    @field_validator("port")
    @classmethod
    def _port(cls, v: int | None) -> int | None:
        if v is not None and not 1 <= v <= 65535:
            raise ValueError("give a TCP port between 1 and 65535")
        return v

    @field_validator("interval_seconds")
    @classmethod
    def _interval(cls, v: int) -> int:
        # ELB HealthCheckIntervalSeconds: 5-300.
        if not 5 <= v <= 300:
            raise ValueError("give 5 to 300 seconds")
        return v

    @field_validator("healthy_threshold", "unhealthy_threshold")
    @classmethod
    def _threshold(cls, v: int) -> int:
        # ELB HealthyThresholdCount / UnhealthyThresholdCount: 2-10.
        if not 2 <= v <= 10:
            raise ValueError("give 2 to 10 checks")
        return v


def _cidr_list(v: list[str]) -> list[str]:
    out = []
    for i, text in enumerate(v):
        try:
            out.append(str(parse_cidr(text)))
        except ValueError as err:
            raise ValueError(f"[{i}] {err}") from None
    return out


class IngressApplicationConfig(_Model):
    """A public application: an internet-facing load balancer whose targets are private
    addresses in the spokes that serve it; the firewall inspects every request and reply."""

    name: str
    spokes: list[str]  # names of the spokes serving it (declared in this stack)
    protocol: Literal["HTTPS", "HTTP", "TCP"]
    # The port clients connect to; default 443 for HTTPS and 80 for HTTP, required for TCP.
    port: int | None = None
    target_port: int
    # HTTPS only: the ACM certificate the load balancer presents (TLS terminates there).
    certificate_arn: str | None = None
    # HTTP(S): how the load balancer talks to targets; default: the same as ``protocol``, so
    # HTTPS is re-encrypted across the Transit Gateway.
    target_protocol: Literal["HTTPS", "HTTP"] | None = None
    # Private IPv4 addresses of the targets, each in a workload subnet of one of the spokes.
    targets: list[str] = Field(default_factory=list)
    health_check: HealthCheckConfig = Field(default_factory=HealthCheckConfig)
    # Who may connect: "everyone", or the CIDR blocks allowed (required: a choice, not a default).
    allowed_sources: list[str] | Literal["everyone"]
    # Sources always refused, even inside allowedSources.
    blocked_sources: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        # It becomes part of load balancer and target group names (32 characters at most).
        if not _APP_NAME.match(v):
            raise ValueError(
                f"{v!r} is not a valid application name: use 1-16 lowercase letters, digits and "
                "'-', starting with a letter (it becomes part of load balancer names)"
            )
        return v

    @field_validator("port", "target_port")
    @classmethod
    def _ports(cls, v: int | None) -> int | None:
        if v is not None and not 1 <= v <= 65535:
            raise ValueError("give a TCP port between 1 and 65535")
        return v

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, v: str | None) -> str | None:
        if v is not None and not _ACM_ARN.match(v):
            raise ValueError(
                f"{v!r} is not an ACM certificate ARN like "
                "arn:aws:acm:us-east-1:123456789012:certificate/<uuid>"
            )
        return v

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        out = []
        for i, text in enumerate(v):
            try:
                out.append(str(ipaddress.IPv4Address(text)))
            except ValueError:
                raise ValueError(f"[{i}] {text!r} is not an IPv4 address like 10.1.0.10") from None
        return out

    @field_validator("allowed_sources", mode="before")
    @classmethod
    def _allowed(cls, v: Any) -> Any:
        if isinstance(v, list):
            return _cidr_list(v)
        if v != EVERYONE:
            raise ValueError(f"give a list of CIDR blocks, or {EVERYONE!r}")
        return v

    @field_validator("blocked_sources")
    @classmethod
    def _blocked(cls, v: list[str]) -> list[str]:
        return _cidr_list(v)

    @property
    def listener_port(self) -> int:
        return self.port or {"HTTPS": 443, "HTTP": 80}.get(self.protocol, 0)

    @property
    def backend_protocol(self) -> str:
        if self.protocol == "TCP":
            return "TCP"
        return self.target_protocol or self.protocol

    @property
    def load_balancer_type(self) -> Literal["application", "network"]:
        return "network" if self.protocol == "TCP" else "application"

    @property
    def sources(self) -> list[str]:
        return [ANYWHERE] if self.allowed_sources == EVERYONE else list(self.allowed_sources)


ANYWHERE = "0.0.0.0/0"


class IngressConfig(_Model):
    """``ingress``: public applications reached from the internet through the firewall."""

    # centralized: one ingress VPC in the hub, targets across the Transit Gateway (the default
    # when the stack has one); distributed: load balancers in each spoke's own VPC.
    design: Literal["centralized", "distributed"] | None = None
    # centralized: the ingress VPC (load balancer, firewall and TGW subnets per AZ).
    vpc_cidr: str | None = None
    applications: list[IngressApplicationConfig] = Field(default_factory=list)

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc(cls, v: str | None) -> str | None:
        return None if v is None else str(parse_cidr(v))


class StackConfig(_Model):
    role: Literal["hub", "spoke"]
    region: str
    # The account this stack deploys into: checked against the credentials before anything
    # is declared, and tells which spokes' roles are in this same account.
    account_id: str | None = None
    model: Literal[
        "egress-only", "centralized-inspection", "distributed", "combined", "tgw-attached"
    ] = "egress-only"
    placement: Literal["before-nat", "after-nat"] = "before-nat"
    inspection_vpc_cidr: str | None = None
    # Traffic between spokes: through the firewall, or dropped by the TGW. Default: inspected,
    # except after the NAT gateway, where the firewall cannot see it and it is blocked.
    spoke_to_spoke: Literal["inspected", "blocked"] | None = None
    az_ids: list[str] = Field(default_factory=list)
    az_slots: int | None = None
    egress_vpc_cidr: str | None = None
    spoke_supernets: list[str] = Field(default_factory=list)
    spokes: list[SpokeConfig] = Field(default_factory=list)
    firewall: FirewallConfig = Field(default_factory=FirewallConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    share: ShareConfig = Field(default_factory=ShareConfig)
    transit_gateway: TransitGatewayConfig = Field(default_factory=TransitGatewayConfig)
    logs: LogsConfig = Field(default_factory=LogsConfig)
    dns_firewall: DnsFirewallConfig = Field(default_factory=DnsFirewallConfig)
    # Spoke stacks this hub serves (org/project/stack): it accepts their attachments and
    # routes their replies; a stack not listed stays pending and unrouted.
    spoke_stacks: list[str] = Field(default_factory=list)
    ingress: IngressConfig | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    # role: spoke
    hub_stack: str | None = None
    spoke: SpokeConfig | None = None

    @field_validator("account_id")
    @classmethod
    def _stack_account(cls, v: str | None) -> str | None:
        if v is not None and not _ACCOUNT_ID.match(v):
            raise ValueError(f"{v!r} is not an AWS account ID: 12 digits, quoted in YAML")
        return v

    @field_validator("egress_vpc_cidr", "inspection_vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, v: str | None) -> str | None:
        return None if v is None else str(parse_cidr(v))

    @field_validator("spoke_supernets")
    @classmethod
    def _supernets(cls, v: list[str]) -> list[str]:
        out = []
        for i, s in enumerate(v):
            try:
                out.append(str(parse_cidr(s)))
            except ValueError as err:
                raise ValueError(f"[{i}] {err}") from None
        return out

    # Convenience views used by the program and the tools.
    @property
    def slots(self) -> int:
        return self.az_slots or addressing.default_az_slots(len(self.az_ids))

    @property
    def supernets(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.IPv4Network(s) for s in self.spoke_supernets]

    @property
    def domain_allowlist(self) -> list[str]:
        allow = self.rules.allow_domains
        return list(allow.domains) if allow else []

    @property
    def all_spokes(self) -> list[SpokeConfig]:
        return list(self.spokes) + ([self.spoke] if self.spoke else [])

    def spoke_az_ids(self, spoke: SpokeConfig) -> list[str]:
        return list(spoke.az_ids) if spoke.az_ids is not None else list(self.az_ids)

    def spoke_model(self, spoke: SpokeConfig) -> Literal["tgw", "distributed"]:
        """How a spoke reaches the internet: through the hub's TGW or its own firewall."""
        if self.model == "distributed":
            return "distributed"
        if self.model == "combined":
            return spoke.model or "tgw"
        return "tgw"

    @property
    def retain_logs_on_delete(self) -> bool:
        """``logs.retainOnDelete``, by default on whenever the firewall's delete protection is:
        a stack protected against deletion keeps its logs and records when it is destroyed."""
        if self.logs.retain_on_delete is not None:
            return self.logs.retain_on_delete
        return self.firewall.protections.delete

    @property
    def spoke_to_spoke_intent(self) -> str:
        """What the design promises for traffic between spokes (checked by `verify`)."""
        tgw = self.transit_gateway
        return spoke_to_spoke_intent(
            explicit=self.spoke_to_spoke,
            single_table=tgw.route_tables == "single",
            bypass_accepted=tgw.accept_spoke_to_spoke_bypass,
            placement=self.placement,
        )

    @property
    def return_routes(self) -> intent.ReturnRoutes:
        """How replies find their spoke in the TGW (see intent.return_routes)."""
        return intent.return_routes(
            self.transit_gateway.return_routes, shared=bool(self.share.principals)
        )

    @property
    def ingress_design(self) -> Literal["centralized", "distributed"] | None:
        """centralized by default where there is a Transit Gateway: spokes keep no way to the
        internet of their own, and one VPC holds every public entry point; distributed where
        there is none (model distributed)."""
        if self.ingress is None or not self.ingress.applications:
            return None
        if self.ingress.design:
            return self.ingress.design
        return "distributed" if self.model == "distributed" else "centralized"

    @property
    def hub_plan(self) -> intent.HubPlan:
        return intent.hub_plan(
            self.model,
            self.placement,
            self.az_ids,
            self.spoke_supernets,
            single_tgw_table=self.transit_gateway.route_tables == "single",
            block_spoke_to_spoke=self.spoke_to_spoke_intent == "blocked",
        )


def spoke_to_spoke_intent(
    *, explicit: str | None, single_table: bool, bypass_accepted: bool, placement: str
) -> str:
    """inspected | blocked | open: explicit, else what the design implies — open where the
    stack accepts a bypass (one TGW route table), blocked after the NAT gateway (the firewall
    cannot see it there), inspected otherwise. One rule for the program and for `verify`."""
    if explicit:
        return explicit
    if single_table or bypass_accepted:
        return "open"
    return "blocked" if placement == "after-nat" else "inspected"


def parse_cidr(text: str) -> ipaddress.IPv4Network:
    """A strict IPv4 CIDR (no host bits). Raises ValueError with a corrected suggestion."""
    if not isinstance(text, str) or "/" not in text:
        raise ValueError(f"{text!r} is not a CIDR block like 10.1.0.0/16")
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ipaddress.NetmaskValueError:
        raise ValueError(f"{text!r} has an invalid prefix length; use /16 to /28") from None
    except ValueError:
        try:
            fixed = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise ValueError(f"{text!r} is not a CIDR block like 10.1.0.0/16") from None
        raise ValueError(f"{text!r} has host bits set; did you mean {fixed}?") from None


# ---------------------------------------------------------------------------------------------
# Loading and cross-field checks


def key(*parts: str | int) -> str:
    """``key("spokes", 1, "cidr")`` → ``egress-net:spokes[1].cidr``."""
    text = ""
    for p in parts:
        if isinstance(p, int):
            text += f"[{p}]"
        else:
            text += ("." if text else "") + p
    return f"{NAMESPACE}:{text}"


def _known_fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that owns the field at ``loc`` (for 'did you mean' hints)."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {(f.alias or n): f for n, f in model.model_fields.items()}
        field = fields.get(part)
        if field is None:
            return model
        inner = _model_class(field.annotation)
        if inner is None:
            return model
        model = inner
    return model


def _model_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_class(arg)
        if found:
            return found
    return None


def _errors_from_pydantic(err: ValidationError) -> list[ConfigError]:
    out: list[ConfigError] = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
        where = key(*loc) if loc else NAMESPACE
        msg = e["msg"].removeprefix("Value error, ")
        hint = ""
        if loc == (MISPLACED_REGION,):
            # The AWS provider's key, read by egress-net too; never a namespaced copy.
            where, msg = MISPLACED_REGION, "unknown key"
            hint = "the region is the AWS provider's: remove this key and set aws:region"
        elif loc == ("region",) and e["type"] == "missing":
            where, msg = "aws:region", "required"
            hint = "set aws:region in Pulumi.<stack>.yaml, e.g. aws:region: us-east-1"
        elif loc == ("region",):
            where = "aws:region"
        elif e["type"] == "extra_forbidden":
            owner = _model_at(loc[:-1])
            known = _known_fields(owner) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = "unknown key"
            hint = (
                f"did you mean '{close[0]}'?" if close else f"known keys here: {', '.join(known)}"
            )
        elif e["type"] == "missing":
            msg = "required"
            hint = f"set it in Pulumi.<stack>.yaml under {where}"
        elif e["type"] == "string_type" and isinstance(e.get("input"), int):
            hint = "quote it in YAML, e.g. '012345678901', so leading zeros are kept"
        elif e["type"] == "literal_error":
            hint = "choose one of the listed values"
        out.append(ConfigError(where, msg, hint))
    return out


def _region_checks(cfg: StackConfig) -> list[ConfigError]:
    errors: list[ConfigError] = []
    code = region_code(cfg.region)
    if code is None:
        errors.append(
            ConfigError("aws:region", f"{cfg.region!r} is not an AWS region name like us-east-1")
        )
    return errors


# Tags go on every resource, and the strictest services the program tags (IAM, Lambda,
# CloudWatch Logs, SSM, ELB: botocore tagKeyType/TagKey patterns [\p{L}\p{Z}\p{N}_.:/=+\-@])
# refuse what EC2 accepts; keys with the reserved "aws:" prefix are refused everywhere. Tagging
# AWS Resources user guide, "Tag naming limits and requirements": keys 1-128 and values 0-256
# characters; letters, numbers, spaces and + - = . _ : / @; "aws:" reserved.
_TAG_PUNCTUATION = frozenset("+-=._:/@")
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256


def _tag_text_problem(text: str) -> str | None:
    bad = sorted(
        {
            c
            for c in text
            if not (c.isalnum() or unicodedata.category(c).startswith("Z") or c in _TAG_PUNCTUATION)
        }
    )
    if bad:
        return f"{''.join(bad)!r} not allowed (letters, numbers, spaces and + - = . _ : / @)"
    return None


def tag_problems(tags: Mapping[str, str], where: tuple[str | int, ...]) -> list[ConfigError]:
    """What AWS would refuse in user tags, keyed ``egress-net:tags.<key>``."""
    errors: list[ConfigError] = []
    for tag, value in tags.items():
        problems = []
        if not 1 <= len(tag) <= TAG_KEY_MAX:
            problems.append(f"a key has 1-{TAG_KEY_MAX} characters, not {len(tag)}")
        if tag.lower().startswith("aws:"):
            problems.append("the 'aws:' prefix is reserved for AWS")
        if len(str(value)) > TAG_VALUE_MAX:
            problems.append(f"a value has at most {TAG_VALUE_MAX} characters, not {len(value)}")
        for part, text in (("key", tag), ("value", str(value))):
            problem = _tag_text_problem(text)
            if problem:
                problems.append(f"{part}: {problem}")
        if problems:
            errors.append(
                ConfigError(
                    key(*where, tag),
                    "AWS would refuse this tag: " + "; ".join(problems),
                    "IAM, Lambda, CloudWatch Logs and SSM take only letters, numbers, spaces "
                    "and + - = . _ : / @ in tags (EC2 takes more, so a deploy would stop "
                    "half-way)",
                )
            )
    return errors


def _tag_checks(cfg: StackConfig) -> list[ConfigError]:
    errors = tag_problems(cfg.tags, ("tags",))
    for i, spoke in enumerate(cfg.spokes):
        errors += tag_problems(spoke.tags, ("spokes", i, "tags"))
    if cfg.spoke is not None:
        errors += tag_problems(cfg.spoke.tags, ("spoke", "tags"))
    return errors


def _partition_checks(cfg: StackConfig) -> list[ConfigError]:
    """ARNs given in config must be in the region's partition: an IAM role, KMS key or
    certificate of another partition does not exist for this one (IAM roles and
    resource-based policies work only within a partition; AWS General Reference, "Amazon
    Resource Names (ARNs)": "arn:partition:...")."""
    partition = partition_of(cfg.region).name
    arns: list[tuple[str, str | None]] = [
        (key("transitGateway", "ownerRoleArn"), cfg.transit_gateway.owner_role_arn),
        (key("logs", "kmsKeyArn"), cfg.logs.kms_key_arn),
    ]
    if cfg.firewall.tls_inspection is not None:
        arns.append(
            (
                key("firewall", "tlsInspection", "certificateAuthorityArn"),
                cfg.firewall.tls_inspection.certificate_authority_arn,
            )
        )
    arns += [(key("spokes", i, "roleArn"), s.role_arn) for i, s in enumerate(cfg.spokes)]
    if cfg.spoke is not None:
        arns.append((key("spoke", "roleArn"), cfg.spoke.role_arn))
    arns += [
        (key("share", "principals", i), p)
        for i, p in enumerate(cfg.share.principals)
        if p.startswith("arn:")
    ]
    return [
        ConfigError(
            where,
            f"{arn} is in partition {arn.split(':')[1]}, but {cfg.region} is in {partition}",
            f"use the ARN from the {partition} partition (arn:{partition}:...)",
        )
        for where, arn in arns
        if arn and arn.split(":")[1] != partition
    ]


def _az_checks(az_ids: list[str], where: tuple[str | int, ...], region: str) -> list[ConfigError]:
    errors: list[ConfigError] = []
    code = region_code(region)
    if not 1 <= len(az_ids) <= addressing.MAX_AZS:
        errors.append(
            ConfigError(
                key(*where),
                f"{len(az_ids)} AZs given; between 1 and {addressing.MAX_AZS} are supported",
                "list AZ IDs such as use1-az1, use1-az2 (2 or 3 for production)",
            )
        )
    seen: dict[str, int] = {}
    for i, az in enumerate(az_ids):
        m = _AZ_ID.match(az) if isinstance(az, str) else None
        if not m:
            errors.append(
                ConfigError(
                    key(*where, i),
                    f"{az!r} is not an AZ ID",
                    "use AZ IDs (like use1-az1), not AZ names (like us-east-1a): names map to "
                    "different zones in every account; `aws ec2 describe-availability-zones` "
                    "lists both",
                )
            )
        elif code and m["region"] != code:
            errors.append(
                ConfigError(
                    key(*where, i),
                    f"{az!r} is not in region {region} (its AZ IDs start with '{code}-az')",
                )
            )
        if az in seen:
            errors.append(
                ConfigError(key(*where, i), f"{az!r} is listed twice (first at [{seen[az]}])")
            )
        seen.setdefault(az, i)
    return errors


def allow_entry_errors(
    domains: list[str], acknowledged: Mapping[str, str], where: tuple[str | int, ...]
) -> list[ConfigError]:
    """Allow entries at or above a shared suffix (``.amazonaws.com``) that no reason in
    ``acknowledged`` accepts, and acknowledgements of entries the list does not hold.

    ``where`` is the key of the list; acknowledgements sit beside it, under
    ``acknowledgeSharedSuffix``.
    """
    errors: list[ConfigError] = []
    ack_key = (*where[:-1], "acknowledgeSharedSuffix")
    for index, entry in enumerate(domains):
        match = shared_suffix_match(entry)
        if match is None or entry in acknowledged:
            continue
        errors.append(
            ConfigError(
                key(*where, index),
                f"{entry!r} {match.problem}",
                f"{match.hint}; or, if it must stay, give the reason under "
                f"{key(*ack_key)}: {{{entry!r}: <reason>}}",
            )
        )
    for entry in sorted(set(acknowledged) - set(domains)):
        errors.append(
            ConfigError(
                key(*ack_key),
                f"{entry!r} is not in the list it acknowledges",
                f"remove it, or add it to {key(*where)}",
            )
        )
    return errors


def _allowlist_checks(cfg: StackConfig) -> list[ConfigError]:
    """Allow lists must not admit anyone's site: every entry names hosts of one owner."""
    errors: list[ConfigError] = []
    allow = cfg.rules.allow_domains
    if allow is not None:
        errors += allow_entry_errors(
            allow.domains, allow.acknowledge_shared_suffix, ("rules", "allowDomains", "domains")
        )
    for i, spoke in enumerate(cfg.spokes):
        errors += allow_entry_errors(
            spoke.allow_domains, spoke.acknowledge_shared_suffix, ("spokes", i, "allowDomains")
        )
    deny = cfg.rules.deny_domains
    if deny is not None and deny.acknowledge_shared_suffix:
        errors.append(
            ConfigError(
                key("rules", "denyDomains", "acknowledgeSharedSuffix"),
                "a deny list may be as broad as it likes: nothing to acknowledge",
                "remove it",
            )
        )
    return errors


def _hub_checks(cfg: StackConfig) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for field, value in (("hubStack", cfg.hub_stack), ("spoke", cfg.spoke)):
        if value is not None:
            errors.append(
                ConfigError(
                    key(field), "only for role: spoke", f"remove it, or set {key('role')}: spoke"
                )
            )
    errors += _model_checks(cfg)
    errors += _allowlist_checks(cfg)
    if cfg.logs.bucket_name and cfg.logs.destination != "s3":
        errors.append(
            ConfigError(
                key("logs", "bucketName"),
                "only used with destination: s3",
                f"set {key('logs', 'destination')}: s3, or remove bucketName",
            )
        )
    if not cfg.spoke_supernets:
        errors.append(
            ConfigError(
                key("spokeSupernets"),
                "required for role: hub",
                "list the address space spokes may use, e.g. [10.0.0.0/8]",
            )
        )
    errors += _az_checks(cfg.az_ids, ("azIds",), cfg.region)
    if errors:
        return errors

    if cfg.az_slots is not None and (
        cfg.az_slots < len(cfg.az_ids)
        or cfg.az_slots != addressing.next_power_of_two(cfg.az_slots)
        or cfg.az_slots > 8
    ):
        errors.append(
            ConfigError(
                key("azSlots"),
                f"{cfg.az_slots} must be 1, 2, 4 or 8 and at least the number of AZs "
                f"({len(cfg.az_ids)})",
            )
        )
        return errors

    supernets = cfg.supernets
    hub_vpcs = _hub_vpc_checks(cfg, errors)
    pair = addressing.first_overlap(supernets)
    if pair:
        errors.append(
            ConfigError(
                key("spokeSupernets", pair[1]),
                f"{supernets[pair[1]]} overlaps spokeSupernets[{pair[0]}] {supernets[pair[0]]}",
                "merge them into one supernet",
            )
        )
    errors += _spoke_list_checks(cfg, hub_vpcs)
    errors += _share_checks(cfg)
    errors += _attachment_control_checks(cfg)
    errors += _dns_firewall_checks(cfg)
    return errors


_HUB_VPC_KEYS = {"egress": "egressVpcCidr", "inspection": "inspectionVpcCidr"}


def _model_checks(cfg: StackConfig) -> list[ConfigError]:
    """Which keys each model needs, and which combinations do not exist."""
    errors: list[ConfigError] = []
    needed = set(intent.hub_plan(cfg.model, cfg.placement, [], []).vpcs)
    for vpc_key, cfg_key in _HUB_VPC_KEYS.items():
        value = getattr(cfg, "egress_vpc_cidr" if vpc_key == "egress" else "inspection_vpc_cidr")
        if vpc_key in needed and not value:
            example = "100.64.0.0/24" if vpc_key == "egress" else "100.64.2.0/24"
            errors.append(
                ConfigError(key(cfg_key), f"required for model {cfg.model}", f"e.g. {example}")
            )
        if vpc_key not in needed and value:
            errors.append(ConfigError(key(cfg_key), f"not used by model {cfg.model}", "remove it"))
    if cfg.placement == "after-nat" and cfg.model not in ("egress-only", "distributed", "combined"):
        errors.append(
            ConfigError(
                key("placement"),
                f"after-nat is only for egress-only, distributed and combined, not {cfg.model}",
                "in this model the firewall sits before the egress VPC's NAT gateways; "
                "use before-nat",
            )
        )
    tgw = cfg.transit_gateway
    if tgw.owner_role_arn and tgw.auto_accept:
        errors.append(
            ConfigError(
                key("transitGateway", "autoAccept"),
                "with the TGW in another account its owner accepts every attachment explicitly "
                "(that is what puts them in the right TGW route tables)",
                "set autoAccept: false, or remove ownerRoleArn",
            )
        )
    if tgw.owner_role_arn and cfg.model == "distributed":
        errors.append(
            ConfigError(
                key("transitGateway", "ownerRoleArn"),
                "model distributed has no Transit Gateway",
                "remove it",
            )
        )
    if tgw.route_tables == "single":
        if cfg.model not in ("egress-only", "combined"):
            errors.append(
                ConfigError(
                    key("transitGateway", "routeTables"),
                    f"single is only for egress-only and combined, not {cfg.model}",
                )
            )
        elif not tgw.accept_spoke_to_spoke_bypass:
            errors.append(
                ConfigError(
                    key("transitGateway", "routeTables"),
                    "with a single TGW route table, spoke-to-spoke traffic goes straight between "
                    "spokes and bypasses the firewall",
                    f"set {key('transitGateway', 'acceptSpokeToSpokeBypass')}: true to accept "
                    "that, or use two tables (the default)",
                )
            )
    if cfg.spoke_to_spoke == "inspected" and cfg.placement == "after-nat":
        errors.append(
            ConfigError(
                key("spokeToSpoke"),
                "after the NAT gateway the firewall cannot inspect spoke-to-spoke traffic "
                "(it would pass through the NAT gateway instead)",
                "use spokeToSpoke: blocked (the default for after-nat), or placement: before-nat",
            )
        )
    if cfg.spoke_to_spoke == "blocked" and cfg.model not in ("egress-only", "combined"):
        errors.append(
            ConfigError(
                key("spokeToSpoke"),
                f"blocking at the Transit Gateway is only for egress-only and combined, "
                f"not {cfg.model}",
                "use inspected: in drop mode the firewall denies spoke-to-spoke traffic that "
                "no rule allows",
            )
        )
    if cfg.spoke_to_spoke and tgw.route_tables == "single":
        errors.append(
            ConfigError(
                key("spokeToSpoke"),
                "with a single TGW route table spoke-to-spoke traffic is open",
                "remove spokeToSpoke, or use two route tables",
            )
        )
    for i, spoke in enumerate(cfg.spokes):
        if spoke.allow_domains and cfg.placement == "after-nat":
            errors.append(
                ConfigError(
                    key("spokes", i, "allowDomains"),
                    "after the NAT gateway the firewall sees NAT addresses only, so it cannot "
                    "tell this spoke's traffic apart",
                    f"move the domains to {key('rules', 'allowDomains')}, or use "
                    "placement: before-nat",
                )
            )
        if cfg.spoke_model(spoke) == "distributed" and (spoke.account_id or spoke.role_arn):
            errors.append(
                ConfigError(
                    key("spokes", i, "roleArn" if spoke.role_arn else "accountId"),
                    "a distributed spoke uses the hub's firewall policy, which lives in the "
                    "hub's account",
                    "deploy distributed spokes in the hub's account, or attach this spoke to "
                    "the TGW (model tgw)",
                )
            )
        if spoke.model == "distributed" and cfg.model not in ("combined", "distributed"):
            errors.append(
                ConfigError(
                    key("spokes", i, "model"),
                    f"a per-spoke model is only for model combined (the stack is {cfg.model})",
                    f"set {key('model')}: combined, or remove the override",
                )
            )
        if spoke.model == "tgw" and cfg.model == "distributed":
            errors.append(
                ConfigError(
                    key("spokes", i, "model"),
                    "model distributed has no Transit Gateway",
                    f"set {key('model')}: combined to mix TGW and distributed spokes",
                )
            )
    return errors


def _hub_vpc_checks(
    cfg: StackConfig, errors: list[ConfigError]
) -> dict[str, ipaddress.IPv4Network]:
    """Size and placement of the hub's own VPCs (egress, inspection) for the model."""
    vpcs: dict[str, ipaddress.IPv4Network] = {}
    for vpc_key, vpc_plan in cfg.hub_plan.vpcs.items():
        cfg_key = _HUB_VPC_KEYS[vpc_key]
        value = cfg.egress_vpc_cidr if vpc_key == "egress" else cfg.inspection_vpc_cidr
        assert value is not None  # required by _model_checks
        vpc = ipaddress.IPv4Network(value)
        vpcs[vpc_key] = vpc
        try:
            addressing.carve_for_tiers(vpc, cfg.az_ids, cfg.slots, vpc_plan.tiers)
        except addressing.CarvingError as err:
            errors.append(
                ConfigError(
                    key(cfg_key),
                    str(err),
                    f"use a /{err.needed_prefix} or larger, or lower {key('azSlots')}",
                )
            )
        for i, sn in enumerate(cfg.supernets):
            if vpc.overlaps(sn):
                errors.append(
                    ConfigError(
                        key(cfg_key),
                        f"{vpc} overlaps spokeSupernets[{i}] {sn}",
                        "the hub's VPCs must sit outside the spoke address space, "
                        "e.g. 100.64.0.0/24",
                    )
                )
    if len(vpcs) == 2 and vpcs["egress"].overlaps(vpcs["inspection"]):
        errors.append(
            ConfigError(
                key("inspectionVpcCidr"),
                f"{vpcs['inspection']} overlaps egressVpcCidr {vpcs['egress']}",
            )
        )
    return vpcs


def _spoke_checks(
    cfg: StackConfig, spoke: SpokeConfig, where: tuple[str | int, ...], hub_az_ids: list[str]
) -> list[ConfigError]:
    """Checks of one spoke against the hub: address space, AZs, size, account/role."""
    errors: list[ConfigError] = []
    net = spoke.network
    if cfg.supernets and not addressing.within_any(net, cfg.supernets):
        errors.append(
            ConfigError(
                key(*where, "cidr"),
                f"{net} is outside the spoke supernets {', '.join(map(str, cfg.supernets))}",
                "choose a CIDR inside the supernets, or widen spokeSupernets on the hub",
            )
        )
    az_ids = cfg.spoke_az_ids(spoke)
    if spoke.az_ids is not None:
        az_errors = _az_checks(spoke.az_ids, (*where, "azIds"), cfg.region)
        errors += az_errors
        if not az_errors:
            for i, az in enumerate(spoke.az_ids):
                if az not in hub_az_ids:
                    errors.append(
                        ConfigError(
                            key(*where, "azIds", i),
                            f"{az} has no firewall endpoint: the hub's AZs are "
                            f"{', '.join(hub_az_ids)}",
                            "use only the hub's AZs, or add the AZ to the hub first",
                        )
                    )
    tiers = (
        intent.distributed_spoke([], cfg.placement).tiers
        if cfg.spoke_model(spoke) == "distributed"
        else intent.tgw_spoke([]).tiers
    )
    try:
        addressing.carve_for_tiers(net, az_ids, cfg.slots, tiers)
    except addressing.CarvingError as err:
        errors.append(
            ConfigError(key(*where, "cidr"), str(err), f"use a /{err.needed_prefix} or larger")
        )
    except ValueError:
        pass  # AZ problems are reported above
    if spoke.account_id and not spoke.role_arn:
        errors.append(
            ConfigError(
                key(*where, "roleArn"),
                f"required when accountId is set (to deploy into account {spoke.account_id})",
                f"e.g. arn:aws:iam::{spoke.account_id}:role/egress-net-deploy",
            )
        )
    if spoke.role_arn and spoke.account_id and spoke.role_account != spoke.account_id:
        errors.append(
            ConfigError(
                key(*where, "roleArn"),
                f"the role is in account {spoke.role_account}, but accountId is {spoke.account_id}",
            )
        )
    return errors


def _spoke_list_checks(
    cfg: StackConfig, hub_vpcs: dict[str, ipaddress.IPv4Network]
) -> list[ConfigError]:
    errors: list[ConfigError] = []
    names: dict[str, int] = {}
    for i, spoke in enumerate(cfg.spokes):
        if spoke.name in names:
            errors.append(
                ConfigError(
                    key("spokes", i, "name"),
                    f"{spoke.name!r} is already the name of spokes[{names[spoke.name]}]",
                    "spoke names must be unique: they name the VPC and its resources",
                )
            )
        names.setdefault(spoke.name, i)
        errors += _spoke_checks(cfg, spoke, ("spokes", i), cfg.az_ids)
        for vpc_key, vpc in hub_vpcs.items():
            if spoke.network.overlaps(vpc):
                errors.append(
                    ConfigError(
                        key("spokes", i, "cidr"),
                        f"{spoke.cidr} overlaps {_HUB_VPC_KEYS[vpc_key]} {vpc}",
                    )
                )
    nets = [s.network for s in cfg.spokes]
    reported: set[int] = set()
    while True:
        pair = addressing.first_overlap([n for k, n in enumerate(nets) if k not in reported])
        if pair is None:
            break
        remaining = [k for k in range(len(nets)) if k not in reported]
        first, second = remaining[pair[0]], remaining[pair[1]]
        errors.append(
            ConfigError(
                key("spokes", second, "cidr"),
                f"{nets[second]} overlaps spokes[{first}] ({cfg.spokes[first].name}) {nets[first]}",
                "every spoke needs its own address range: TGW routes are by destination CIDR",
            )
        )
        reported.add(second)
    return errors


def _share_checks(cfg: StackConfig) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for i, spoke in enumerate(cfg.spokes):
        account = spoke.account_id or spoke.role_account
        if cfg.spoke_model(spoke) == "distributed":
            continue  # no Transit Gateway to share
        if account and account == cfg.account_id:
            continue  # the stack's own account
        if account and cfg.share.principals and not _account_covered(account, cfg.share.principals):
            errors.append(
                ConfigError(
                    key("spokes", i, "accountId" if spoke.account_id else "roleArn"),
                    f"account {account} is not among the RAM share principals, so it cannot "
                    "attach to the Transit Gateway",
                    f"add '{account}' (or its OU/organization ARN) to {key('share', 'principals')}",
                )
            )
        if account and not cfg.share.principals:
            errors.append(
                ConfigError(
                    key("share", "principals"),
                    f"spokes[{i}] is in account {account}, but the Transit Gateway is not shared",
                    f"add '{account}' or your organization ARN to {key('share', 'principals')}",
                )
            )
    return errors


def _attachment_control_checks(cfg: StackConfig) -> list[ConfigError]:
    """Who may put a VPC on the Transit Gateway, and which stacks the hub serves."""
    errors: list[ConfigError] = []
    tgw = cfg.transit_gateway
    wide = [p for p in cfg.share.principals if not _ACCOUNT_ID.match(p)]
    if (
        tgw.auto_accept
        and wide
        and cfg.firewall.mode == "drop"
        and not tgw.accept_any_account_attachment
    ):
        # With auto-accept, RAM's share to an organization or OU lets every account in it
        # attach a VPC (AWS Transit Gateway Guide, "Sharing a transit gateway"): no review.
        errors.append(
            ConfigError(
                key("transitGateway", "autoAccept"),
                f"the Transit Gateway is shared with {wide[0]}, so with autoAccept any account "
                "in it attaches a VPC without review",
                f"set autoAccept: false and list the spoke stacks in {key('spokeStacks')} (the "
                "hub accepts them), share with account IDs, or acknowledge with "
                f"{key('transitGateway', 'acceptAnyAccountAttachment')}: true",
            )
        )
    if cfg.spoke_stacks and cfg.hub_plan.tgw is None:
        errors.append(
            ConfigError(
                key("spokeStacks"),
                f"model {cfg.model} has no Transit Gateway for spoke stacks to attach to",
                f"declare the spokes in {key('spokes')}",
            )
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(cfg.spoke_stacks):
        if not _STACK_NAME.match(name):
            errors.append(
                ConfigError(
                    key("spokeStacks", i), f"{name!r} is not a stack name like org/project/stack"
                )
            )
        elif name in seen:
            errors.append(
                ConfigError(
                    key("spokeStacks", i), f"{name!r} is listed twice (first at [{seen[name]}])"
                )
            )
        seen.setdefault(name, i)
    return errors


def _dns_firewall_checks(cfg: StackConfig) -> list[ConfigError]:
    errors: list[ConfigError] = []
    seen: dict[str, int] = {}
    for i, managed in enumerate(cfg.dns_firewall.managed_domain_lists):
        if managed.name in seen:
            errors.append(
                ConfigError(
                    key("dnsFirewall", "managedDomainLists", i, "name"),
                    f"{managed.name} is listed twice (first at [{seen[managed.name]}])",
                )
            )
        seen.setdefault(managed.name, i)
    return errors


def _account_covered(account: str, principals: list[str]) -> bool:
    # An organization or OU principal may cover the account; that can only be known live.
    return account in principals or any(not _ACCOUNT_ID.match(p) for p in principals)


def _spoke_role_checks(cfg: StackConfig) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for field, present in (
        ("spokes", bool(cfg.spokes)),
        ("egressVpcCidr", cfg.egress_vpc_cidr is not None),
        ("spokeSupernets", bool(cfg.spoke_supernets)),
        ("azIds", bool(cfg.az_ids)),
        ("spokeStacks", bool(cfg.spoke_stacks)),
        ("dnsFirewall", "dns_firewall" in cfg.model_fields_set),
    ):
        if present:
            errors.append(
                ConfigError(
                    key(field),
                    "only for role: hub",
                    "a spoke stack takes these from the hub through hubStack",
                )
            )
    if not cfg.hub_stack:
        errors.append(
            ConfigError(key("hubStack"), "required for role: spoke", "e.g. acme/egress-net/prod")
        )
    elif not _STACK_NAME.match(cfg.hub_stack):
        errors.append(
            ConfigError(
                key("hubStack"), f"{cfg.hub_stack!r} is not a stack name like org/project/stack"
            )
        )
    if cfg.spoke is not None and cfg.spoke.allow_domains:
        errors.append(
            ConfigError(
                key("spoke", "allowDomains"),
                "the hub's firewall policy holds per-spoke allow lists",
                "list these domains under the spoke's entry in the hub stack's "
                f"{key('spokes')}, or in the hub's {key('rules', 'allowDomains')}",
            )
        )
    if cfg.spoke is None:
        errors.append(
            ConfigError(
                key("spoke"), "required for role: spoke", "give name and cidr of this spoke VPC"
            )
        )
    return errors


def validate(raw: Mapping[str, Any]) -> StackConfig:
    """Parse and check a stack's ``egress-net`` config (keys without namespace, plus ``region``).

    Raises ConfigErrors listing every problem found.
    """
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigErrors(_errors_from_pydantic(err)) from None
    errors = _region_checks(cfg) + _partition_checks(cfg) + _tag_checks(cfg)
    if cfg.role == "hub":
        errors += _hub_checks(cfg)
    else:
        errors += _spoke_role_checks(cfg)
    errors += _ingress_checks(cfg)
    if errors:
        raise ConfigErrors(errors)
    return cfg


def check_spoke_against_hub(cfg: StackConfig, hub: Mapping[str, Any]) -> list[ConfigError]:
    """A spoke stack's checks against the hub's stack-output contract (see README)."""
    version = hub.get("contractVersion")
    if version == CONTRACT_VERSION and not hub.get("transitGatewayId"):
        return [
            ConfigError(
                key("hubStack"),
                f"hub stack {cfg.hub_stack} has no Transit Gateway (model {hub.get('model')})",
                "declare distributed spokes in the hub stack itself",
            )
        ]
    if version != CONTRACT_VERSION:
        return [
            ConfigError(
                key("hubStack"),
                f"hub stack {cfg.hub_stack} exports contract version {version!r}; this spoke "
                f"understands version {CONTRACT_VERSION}",
                "deploy the hub with the same egress-net release, or upgrade this project",
            )
        ]
    assert cfg.spoke is not None
    hub_view = cfg.model_copy(
        update={
            "spoke_supernets": list(hub.get("spokeSupernets", [])),
            "az_ids": list(hub.get("azIds", [])),
            "az_slots": _int_or_none(hub.get("azSlots")),
        }
    )
    return _spoke_checks(hub_view, cfg.spoke, ("spoke",), list(hub.get("azIds", [])))


@dataclass(frozen=True)
class ServedSpoke:
    """A spoke stack the hub lists in ``spokeStacks``, as its outputs describe it."""

    reference: str  # org/project/stack, as listed
    name: str
    cidr: str | None = None  # None: the stack has no outputs yet (never deployed)
    attachment_id: str | None = None
    account_id: str | None = None


def check_spoke_stacks(
    cfg: StackConfig, this_stack: str, found: list[tuple[str, Mapping[str, Any]]]
) -> tuple[list[ServedSpoke], list[ConfigError]]:
    """The hub's checks of the spoke stacks it serves, against itself and each other: a spoke
    stack chooses its own CIDR, and the hub routes replies to it by that CIDR."""
    served: list[ServedSpoke] = []
    errors: list[ConfigError] = []
    taken: list[tuple[str, ipaddress.IPv4Network]] = [
        (f"spokes[{i}] ({s.name})", s.network) for i, s in enumerate(cfg.spokes)
    ]
    taken += [
        (_HUB_VPC_KEYS[k], ipaddress.IPv4Network(v))
        for k, v in (("egress", cfg.egress_vpc_cidr), ("inspection", cfg.inspection_vpc_cidr))
        if v
    ]
    if cfg.ingress is not None and cfg.ingress.vpc_cidr:
        # The centralized ingress VPC is attached to the same TGW and routed by its CIDR
        # (see _ingress_vpc_checks): a spoke stack must not claim its replies either.
        taken.append(("ingress.vpcCidr", ipaddress.IPv4Network(cfg.ingress.vpc_cidr)))
    names = {s.name: f"spokes[{i}]" for i, s in enumerate(cfg.spokes)}
    for i, (reference, outputs) in enumerate(found):
        where = key("spokeStacks", i)
        stack = reference.rsplit("/", 1)[-1]
        if not outputs:
            served.append(ServedSpoke(reference, _resource_label(stack)))
            continue
        problem = _spoke_stack_problem(outputs, this_stack)
        if problem:
            errors.append(ConfigError(where, f"{reference}: {problem[0]}", problem[1]))
            continue
        spoke = outputs["spoke"]
        net = ipaddress.IPv4Network(str(spoke["cidr"]))
        if not addressing.within_any(net, cfg.supernets):
            errors.append(
                ConfigError(
                    where,
                    f"{reference} uses {net}, outside the spoke supernets "
                    f"{', '.join(map(str, cfg.supernets))}",
                    "the spoke must move into the supernets, or widen spokeSupernets here",
                )
            )
        clash = next((label for label, other in taken if net.overlaps(other)), None)
        if clash:
            errors.append(
                ConfigError(
                    where,
                    f"{reference} uses {net}, which overlaps {clash}",
                    "every spoke needs its own address range: replies are routed by CIDR",
                )
            )
        outside = [az for az in spoke.get("azIds") or [] if az not in cfg.az_ids]
        if outside:
            errors.append(
                ConfigError(
                    where,
                    f"{reference} uses AZs without a firewall endpoint: {', '.join(outside)}",
                )
            )
        name = str(spoke["name"])
        if name in names:
            errors.append(
                ConfigError(
                    where,
                    f"{reference}'s spoke is named {name!r}, like {names[name]}",
                    "spoke names must be unique per hub: they name its routes and acceptance",
                )
            )
        names.setdefault(name, f"spokeStacks[{i}]")
        taken.append((f"spokeStacks[{i}] ({reference})", net))
        served.append(
            ServedSpoke(
                reference,
                name,
                str(net),
                str(spoke["attachmentId"]),
                str(spoke["accountId"]) if spoke.get("accountId") else None,
            )
        )
    return served, errors


def _spoke_stack_problem(outputs: Mapping[str, Any], this_stack: str) -> tuple[str, str] | None:
    version = outputs.get("contractVersion")
    if version != CONTRACT_VERSION:
        return (
            f"exports contract version {version!r}; this hub understands {CONTRACT_VERSION}",
            "deploy the spoke with the same egress-net release",
        )
    spoke = outputs.get("spoke")
    if not isinstance(spoke, Mapping) or not all(
        spoke.get(k) for k in ("name", "cidr", "attachmentId")
    ):
        return ("exports no spoke (name, cidr, attachmentId)", "is it a spoke stack?")
    try:
        parse_cidr(str(spoke["cidr"]))
    except ValueError as err:
        return (f"exports spoke.cidr {err}", "is it a spoke stack of this release?")
    if not isinstance(spoke.get("azIds", []), list):
        return ("exports spoke.azIds that is not a list", "is it a spoke stack of this release?")
    # The hub names resources, routes and tags after these values and hands the ID to AWS:
    # whatever a stack exports must have the shape a spoke stack of this release gives it.
    name = str(spoke["name"])
    if not _SPOKE_NAME.match(name) or name == "hub" or name.startswith("hub-"):
        return (
            f"exports spoke.name {name[:80]!r}, which is not a spoke name",
            "is it a spoke stack of this release?",
        )
    if not _TGW_ATTACHMENT_ID.match(str(spoke["attachmentId"])):
        return (
            f"exports spoke.attachmentId {str(spoke['attachmentId'])[:80]!r}, which is not a "
            "Transit Gateway attachment ID (tgw-attach-<hex>)",
            "is it a spoke stack of this release?",
        )
    account = spoke.get("accountId")
    if account is not None and not _ACCOUNT_ID.match(str(account)):
        return (
            f"exports spoke.accountId {str(account)[:80]!r}, which is not an account ID",
            "is it a spoke stack of this release?",
        )
    hub = str(outputs.get("hubStack") or "")
    if hub.rsplit("/", 1)[-1] != this_stack:
        return (
            f"attaches to hub stack {hub!r}, not to this one ({this_stack})",
            "list only spoke stacks whose egress-net:hubStack is this stack",
        )
    return None


def _resource_label(stack: str) -> str:
    """A stack name as a resource-name part (a not-yet-deployed spoke has no name of its own)."""
    return re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-") or "spoke"


def _int_or_none(value: Any) -> int | None:
    # Stack outputs travel as JSON numbers: 4 may arrive as 4.0.
    return None if value is None else int(value)


# ---------------------------------------------------------------------------------------------
# Where config comes from


def decode_value(value: Any) -> Any:
    """Pulumi hands config to programs as strings; objects and lists arrive as JSON text."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# The model input key for an ``egress-net:region`` (an unknown key: the region is the AWS
# provider's ``aws:region``, which the deployment itself uses).
MISPLACED_REGION = "egress-net:region"


def from_pulumi_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """The namespaced config map (``egress-net:x``, ``aws:region``) → model input."""
    raw: dict[str, Any] = {}
    for full_key, value in values.items():
        ns, _, name = full_key.partition(":")
        if ns == NAMESPACE:
            raw[MISPLACED_REGION if name == "region" else name] = decode_value(value)
    if "aws:region" in values:
        raw["region"] = values["aws:region"]
    return raw


def read_stack_file(stack: str, project_dir: Path) -> dict[str, Any]:
    """The config a stack's program receives, as a flat namespaced map: ``Pulumi.<stack>.yaml``
    read and merged with Pulumi.yaml's defaults, checked as the Pulumi CLI checks them."""
    from egress_net import project_files  # local: only the tools read files

    return project_files.load_stack(stack, project_dir).config


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``Pulumi.yaml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise ConfigError(str(here), "no Pulumi.yaml here or above", "run from the project folder")


def load_stack(stack: str, project_dir: Path | None = None) -> StackConfig:
    """Validated config of ``Pulumi.<stack>.yaml`` (for the CLI tools)."""
    folder = project_dir or find_project_dir()
    return validate(from_pulumi_config(read_stack_file(stack, folder)))


# ---------------------------------------------------------------------------------------------
# Ingress checks


def _ingress_checks(cfg: StackConfig) -> list[ConfigError]:
    """The ``ingress`` section against the rest of the stack: designs the model allows, the
    ingress VPC's room and place, each application's spokes, protocol and targets."""
    ing = cfg.ingress
    if ing is None:
        return []
    if cfg.role != "hub":
        return [
            ConfigError(
                key("ingress"),
                "only for role: hub (the applications' spokes are declared there)",
                "move the section to the hub stack",
            )
        ]
    errors: list[ConfigError] = []
    design = cfg.ingress_design
    if ing.design == "centralized" and cfg.model == "distributed":
        errors.append(
            ConfigError(
                key("ingress", "design"),
                "centralized ingress reaches its targets across the Transit Gateway, and model "
                "distributed has none",
                "use design: distributed (load balancers in the spokes' own VPCs)",
            )
        )
    if design == "centralized" and cfg.transit_gateway.owner_role_arn:
        errors.append(
            ConfigError(
                key("ingress", "design"),
                "centralized ingress with the Transit Gateway in another account is not "
                "supported yet (its owner would have to accept and associate the attachment)",
                "use design: distributed, or a Transit Gateway of this account",
            )
        )
    errors += _ingress_vpc_checks(cfg, design)
    errors += _shared_port_checks(ing.applications)
    names = [app.name for app in ing.applications]
    spokes = {s.name: s for s in cfg.spokes}
    for i, app in enumerate(ing.applications):
        errors += _application_checks(cfg, design, i, app, spokes, names[:i])
    return errors


def _shared_port_checks(apps: list[IngressApplicationConfig]) -> list[ConfigError]:
    """The ingress firewall tells applications apart by listener port only (load balancer
    addresses change), so applications on one port must admit the same sources."""
    errors: list[ConfigError] = []
    first: dict[int, tuple[int, IngressApplicationConfig]] = {}
    for i, app in enumerate(apps):
        seen = first.setdefault(app.listener_port, (i, app))
        j, other = seen
        if j != i and (
            sorted(other.sources) != sorted(app.sources)
            or sorted(other.blocked_sources) != sorted(app.blocked_sources)
        ):
            errors.append(
                ConfigError(
                    key("ingress", "applications", i, "allowedSources"),
                    f"port {app.listener_port} is also {other.name!r}'s, with other sources: the "
                    "firewall cannot tell the two apart (load balancer addresses change)",
                    "give both the same allowedSources and blockedSources, or another port",
                )
            )
    return errors


def _ingress_vpc_checks(cfg: StackConfig, design: str | None) -> list[ConfigError]:
    ing = cfg.ingress
    assert ing is not None
    where = key("ingress", "vpcCidr")
    if design != "centralized":
        if ing.vpc_cidr is not None and design == "distributed":
            return [ConfigError(where, "only for design: centralized", "remove it")]
        return []
    if ing.vpc_cidr is None:
        return [
            ConfigError(
                where,
                "required for centralized ingress (the VPC of the load balancers and firewall)",
                "give a CIDR outside the spokes and hub VPCs, e.g. 100.64.4.0/23",
            )
        ]
    errors: list[ConfigError] = []
    vpc = ipaddress.IPv4Network(ing.vpc_cidr)
    try:
        layout = addressing.carve_for_tiers(vpc, cfg.az_ids, cfg.slots, intent.INGRESS_VPC_TIERS)
        small = addressing.too_small_for_load_balancers(layout)
        if small is not None:
            errors.append(
                ConfigError(
                    where,
                    f"{vpc} gives load balancer subnets of /{small}; an Application Load "
                    f"Balancer needs a /{addressing.LB_SUBNET_MAX_PREFIX} or larger",
                    f"use a /{vpc.prefixlen - (addressing.LB_SUBNET_MAX_PREFIX - small)} or "
                    f"larger, or lower {key('azSlots')}",
                )
            )
    except addressing.CarvingError as err:
        errors.append(ConfigError(where, str(err), f"use a /{err.needed_prefix} or larger"))
    others = [(f"spokes[{i}] ({s.name})", s.network) for i, s in enumerate(cfg.spokes)]
    others += [
        (label, ipaddress.IPv4Network(value))
        for label, value in (
            ("egressVpcCidr", cfg.egress_vpc_cidr),
            ("inspectionVpcCidr", cfg.inspection_vpc_cidr),
        )
        if value
    ]
    for label, net in others:
        if vpc.overlaps(net):
            errors.append(
                ConfigError(
                    where,
                    f"{vpc} overlaps {label} {net}",
                    "the Transit Gateway routes to the ingress VPC by its CIDR: pick one no "
                    "other VPC uses",
                )
            )
    return errors


def _application_checks(
    cfg: StackConfig,
    design: str | None,
    i: int,
    app: IngressApplicationConfig,
    spokes: Mapping[str, SpokeConfig],
    earlier_names: list[str],
) -> list[ConfigError]:
    errors: list[ConfigError] = []

    def at(*parts: str | int) -> str:
        return key("ingress", "applications", i, *parts)

    if app.name in earlier_names:
        errors.append(
            ConfigError(at("name"), f"{app.name!r} is used twice", "give each one its own name")
        )
    errors += _protocol_checks(cfg, app, at)
    if not app.spokes:
        errors.append(ConfigError(at("spokes"), "name at least one spoke serving it"))
    if design == "distributed" and len(app.spokes) > 1:
        errors.append(
            ConfigError(
                at("spokes"),
                "a distributed application's load balancer lives in one spoke's VPC",
                "name one spoke, or use design: centralized",
            )
        )
    served: list[SpokeConfig] = []
    for j, name in enumerate(app.spokes):
        spoke = spokes.get(name)
        if spoke is None:
            close = difflib.get_close_matches(name, list(spokes), n=1)
            errors.append(
                ConfigError(
                    at("spokes", j),
                    f"no spoke {name!r} in {key('spokes')}",
                    f"did you mean '{close[0]}'?" if close else "name a spoke of this stack",
                )
            )
            continue
        served.append(spoke)
        errors += _serving_spoke_checks(cfg, design, app, spoke, at("spokes", j))
    if not app.targets:
        errors.append(
            ConfigError(
                at("targets"),
                "name at least one target address (verify traces every one)",
                "give the private IPv4 addresses of the application in its spokes",
            )
        )
    errors += _security_group_rule_checks(app, ingress_internal_cidrs(cfg), at)
    for k, target in enumerate(app.targets):
        problem = _target_problem(cfg, ipaddress.IPv4Address(target), served)
        if problem and served:
            errors.append(ConfigError(at("targets", k), problem, "use an address of a workload"))
    return errors


# Amazon VPC quotas, "Inbound or outbound rules per security group": 60 by default, each CIDR
# of a rule counting as one (AWS refuses more: RulesPerSecurityGroupLimitExceeded).
SECURITY_GROUP_RULES_MAX = 60


def ingress_internal_cidrs(cfg: StackConfig) -> list[str]:
    """The stack's own address space, which a load balancer's security group does not admit
    (see ``rules.ingress.load_balancer_sources``)."""
    return [*cfg.spoke_supernets, *(s.cidr for s in cfg.spokes)]


def _security_group_rule_checks(
    app: IngressApplicationConfig, internal: list[str], at: Any
) -> list[ConfigError]:
    """The load balancer's security group has an inbound rule per admitted source CIDR and an
    outbound rule per target and checked port: both must fit the per-group quota."""
    errors: list[ConfigError] = []
    admitted = load_balancer_sources(app.sources, internal)
    if not admitted:
        errors.append(
            ConfigError(
                at("allowedSources"),
                "every source is inside spokeSupernets or a spoke: the load balancer admits "
                "clients from the internet only (the firewall sees no other traffic)",
                "list the public CIDRs of the clients; internal clients use the public name",
            )
        )
    if len(admitted) > SECURITY_GROUP_RULES_MAX:
        errors.append(
            ConfigError(
                at("allowedSources"),
                f"{len(admitted)} CIDR blocks once the stack's own address space is left out: "
                f"the load balancer's security group takes {SECURITY_GROUP_RULES_MAX} inbound "
                "rules (the default VPC quota)",
                "merge them into fewer, wider blocks",
            )
        )
    ports = {app.target_port, app.health_check.port or app.target_port}
    if len(app.targets) * len(ports) > SECURITY_GROUP_RULES_MAX:
        errors.append(
            ConfigError(
                at("targets"),
                f"{len(app.targets)} targets on {len(ports)} port(s): the load balancer's "
                f"security group takes {SECURITY_GROUP_RULES_MAX} outbound rules (the default "
                "VPC quota)",
                "use fewer targets per application",
            )
        )
    return errors


def _protocol_checks(cfg: StackConfig, app: IngressApplicationConfig, at: Any) -> list[ConfigError]:
    errors: list[ConfigError] = []
    if app.protocol == "HTTPS" and app.certificate_arn is None:
        errors.append(
            ConfigError(
                at("certificateArn"),
                "required for HTTPS (the certificate the load balancer presents)",
                "give the ARN of an ACM certificate in the stack's region",
            )
        )
    if app.protocol != "HTTPS" and app.certificate_arn is not None:
        errors.append(
            ConfigError(at("certificateArn"), f"only for protocol HTTPS, not {app.protocol}")
        )
    if app.certificate_arn and app.certificate_arn.split(":")[3] != cfg.region:
        # ELB: "the certificate must be in the same Region as the load balancer"
        # (ALB user guide, "SSL certificates for your Application Load Balancer").
        errors.append(
            ConfigError(
                at("certificateArn"),
                f"the certificate is in {app.certificate_arn.split(':')[3]}, the load balancer "
                f"in {cfg.region}",
                "request or import the certificate in ACM in the stack's region",
            )
        )
    if app.protocol == "TCP":
        if app.port is None:
            errors.append(ConfigError(at("port"), "required for protocol TCP"))
        if app.target_protocol is not None:
            errors.append(ConfigError(at("targetProtocol"), "only for HTTP and HTTPS"))
        # An NLB's TCP health check has no path or codes (ELB CreateTargetGroup: HealthCheckPath
        # and Matcher are for HTTP/HTTPS checks); silently dropping them would hide that the
        # check only opens a connection.
        for field_name, config_key in (("path", "path"), ("matcher", "matcher")):
            if field_name in app.health_check.model_fields_set:
                errors.append(
                    ConfigError(
                        at("healthCheck", config_key),
                        "only for HTTP and HTTPS: a TCP application's health check opens a "
                        "connection to the port",
                        "remove it",
                    )
                )
    return errors


def _serving_spoke_checks(
    cfg: StackConfig,
    design: str | None,
    app: IngressApplicationConfig,
    spoke: SpokeConfig,
    where: str,
) -> list[ConfigError]:
    errors: list[ConfigError] = []
    az_ids = cfg.spoke_az_ids(spoke)
    if design == "centralized" and cfg.spoke_model(spoke) != "tgw":
        errors.append(
            ConfigError(
                where,
                f"spoke {spoke.name} is distributed: centralized ingress reaches targets across "
                "the Transit Gateway",
                "serve it from a TGW spoke, or use design: distributed",
            )
        )
    if (
        design == "distributed"
        and (spoke.role_arn or spoke.account_id)
        and (spoke.role_account or spoke.account_id) != cfg.account_id
    ):
        errors.append(
            ConfigError(
                where,
                f"spoke {spoke.name} is in another account, and its ingress firewall would use "
                "the hub's inbound policy, which lives in the hub's account",
                "serve it from a spoke in the hub's account, or use design: centralized",
            )
        )
    if design == "distributed":
        try:
            tiers = intent.with_distributed_ingress_tiers(spoke_tiers(cfg, spoke))
            layout = addressing.carve_for_tiers(spoke.network, az_ids, cfg.slots, tiers)
            small = addressing.too_small_for_load_balancers(layout)
            if small is not None:
                raise addressing.CarvingError("load balancer subnets too small", small)
        except addressing.CarvingError as err:
            errors.append(
                ConfigError(
                    where,
                    f"spoke {spoke.name} ({spoke.cidr}) has no room for /"
                    f"{addressing.LB_SUBNET_MAX_PREFIX} load balancer subnets and /28 firewall "
                    f"subnets per AZ: {err}",
                    "give the spoke a larger CIDR (a /21 or larger), or use design: centralized",
                )
            )
    lb_azs = az_ids if design == "distributed" else cfg.az_ids
    if app.load_balancer_type == "application" and len(lb_azs) < 2:
        # ELB CreateLoadBalancer: "You must specify subnets from at least two Availability
        # Zones" for an Application Load Balancer (ALB user guide, "Subnets for your ALB").
        errors.append(
            ConfigError(
                where,
                "an Application Load Balancer needs subnets in at least two AZs",
                "give the stack (or this spoke) two AZ IDs or more, or use protocol TCP",
            )
        )
    return errors


_TARGET_RANGES = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def _target_problem(
    cfg: StackConfig, address: ipaddress.IPv4Address, served: list[SpokeConfig]
) -> str | None:
    """Why ``address`` cannot be a target of an application served by ``served``, or None."""
    # ELB target groups, "Target type: ip": targets must come from 10.0.0.0/8, 172.16.0.0/12,
    # 192.168.0.0/16 or 100.64.0.0/10; "you can't specify publicly routable IP addresses".
    if not any(address in net for net in _TARGET_RANGES):
        return f"{address} is publicly routable: a load balancer accepts only private IP targets"
    for spoke in served:
        if address not in spoke.network:
            continue
        az_ids = cfg.spoke_az_ids(spoke)
        try:
            layout = addressing.carve_for_tiers(
                spoke.network, az_ids, cfg.slots, spoke_tiers(cfg, spoke)
            )
        except addressing.CarvingError:
            return None  # reported on the spoke's own key
        for sub in layout:
            if address in sub.cidr:
                if sub.tier != "workload":
                    return f"{address} is in {spoke.name}'s {sub.tier} subnet in {sub.az_id}"
                # AWS reserves the first four addresses and the last one of every subnet.
                offset = int(address) - int(sub.cidr.network_address)
                if offset < 4 or address == sub.cidr.broadcast_address:
                    return f"{address} is reserved by AWS in subnet {sub.cidr}"
                return None
        return f"{address} is in {spoke.name} but in no workload subnet of its AZs"
    names = ", ".join(f"{s.name} ({s.cidr})" for s in served)
    return f"{address} is in none of the application's spokes: {names}"


def spoke_tiers(cfg: StackConfig, spoke: SpokeConfig) -> tuple[str, ...]:
    az_ids = cfg.spoke_az_ids(spoke)
    if cfg.spoke_model(spoke) == "tgw":
        return intent.tgw_spoke(az_ids).tiers
    return intent.distributed_spoke(az_ids, cfg.placement).tiers
