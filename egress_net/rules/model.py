"""The stack config's ``rules`` key (pydantic v2). YAML keys are camelCase.

Every field is optional with a secure default: no rules means the policy's default action
(drop established flows that no rule passes) applies to everything. Used only by the Pulumi
program and the CLI; the rule-sync Lambda never imports this module.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from egress_net.rules import limits

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_MANAGED_NAME = re.compile(r"^[A-Za-z0-9]{1,128}$")
_PREFIX_LIST_ARN = re.compile(r"^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:prefix-list/pl-[0-9a-f]+$")
_PORT = re.compile(r"^(\d{1,5})(?::(\d{1,5}))?$")


def domain_problem(entry: str) -> str | None:
    """Why a domain-list entry is invalid for Network Firewall, or None when valid.

    ``example.com`` matches exactly; ``.example.com`` matches the domain and all subdomains.
    """
    if not isinstance(entry, str) or not entry:
        return "empty entry"
    if entry != entry.strip() or any(c.isspace() for c in entry):
        return "contains white space"
    if "*" in entry:
        return "use '.example.com' (leading dot) instead of '*.example.com' for subdomains"
    if "://" in entry or "/" in entry or ":" in entry:
        return "give a host name only, without scheme, port or path"
    name = (entry[1:] if entry.startswith(".") else entry).lower()
    if name.endswith("."):
        return "remove the trailing dot"
    try:
        ipaddress.ip_address(name)
        return "an IP address is not a domain; use a 5-tuple rule for IP destinations"
    except ValueError:
        pass
    labels = name.split(".")
    if (
        len(labels) < 2
        or len(name) > 253
        or not all(_DOMAIN_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        return "not a valid domain name (letters, digits, '-' and dots, like example.com)"
    return None


def _domain(value: str) -> str:
    """``example.com`` or ``.example.com`` (the domain and all its subdomains)."""
    problem = domain_problem(value)
    if problem:
        raise ValueError(f"{value!r}: {problem}")
    return value.lower()


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as err:
        raise ValueError(f"{value!r} is not a CIDR block ({err})") from None


def _port_range(value: str) -> str:
    match = _PORT.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a port or 'from:to' range")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 0 <= low <= high <= 65535:
        raise ValueError(f"{value!r}: ports are 0-65535 and 'from' must not exceed 'to'")
    return value.strip()


def _set_name(value: str) -> str:
    if not _SET_NAME.match(value):
        raise ValueError(
            f"{value!r}: set names start with a letter and use letters, digits and '_'"
        )
    return value


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("give the reason this broad entry is accepted")
    return value.strip()


Domain = Annotated[str, AfterValidator(_domain)]
Reason = Annotated[str, AfterValidator(_reason)]
Cidr = Annotated[str, AfterValidator(_cidr)]
PortRange = Annotated[str, AfterValidator(_port_range)]
SetName = Annotated[str, AfterValidator(_set_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class DomainList(_Model):
    """Domains matched on the TLS SNI and/or the HTTP Host header.

    ``acknowledge_shared_suffix`` maps an allow entry at or above a shared suffix
    (``.s3.amazonaws.com``) to the reason it is accepted anyway; without it such an entry is
    refused (see ``egress_net.rules.suffixes``).
    """

    domains: list[Domain] = Field(min_length=1)
    target_types: list[Literal["TLS_SNI", "HTTP_HOST"]] = Field(
        default_factory=lambda: ["TLS_SNI", "HTTP_HOST"], min_length=1
    )
    acknowledge_shared_suffix: dict[Domain, Reason] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> DomainList:
        if len(set(self.target_types)) != len(self.target_types):
            raise ValueError("targetTypes lists a type twice")
        self.domains = list(dict.fromkeys(self.domains))
        return self


class AllowDomainPorts(_Model):
    """Ports besides 443 (TLS) and 80 (HTTP) on which allowed names are passed."""

    tls: list[PortRange] = Field(default_factory=list)
    http: list[PortRange] = Field(default_factory=list)


StatefulProtocol = Literal[
    "IP",
    "TCP",
    "UDP",
    "ICMP",
    "HTTP",
    "FTP",
    "TLS",
    "SMB",
    "DNS",
    "DCERPC",
    "SSH",
    "SMTP",
    "IMAP",
    "MSN",
    "KRB5",
    "IKEV2",
    "TFTP",
    "NTP",
    "DHCP",
]


class FiveTupleRule(_Model):
    """A stateful rule on protocol, addresses and ports (Network Firewall's 'standard' form).

    Addresses are ``ANY``, a CIDR, or ``$SET`` naming an IP set; ports are ``ANY``, a port,
    ``from:to`` or ``$SET``. ``sid`` defaults to 1,000,001 + the rule's index.
    """

    action: Literal["PASS", "DROP", "REJECT", "ALERT"]
    protocol: StatefulProtocol
    source: str = "ANY"
    source_port: str = "ANY"
    destination: str = "ANY"
    destination_port: str = "ANY"
    direction: Literal["FORWARD", "ANY"] = "FORWARD"
    sid: int | None = Field(default=None, ge=1)
    msg: str | None = Field(default=None, max_length=512)

    @model_validator(mode="after")
    def _protocol_supported(self) -> FiveTupleRule:
        if self.protocol == "IKEV2":
            raise ValueError("IKEV2 is not supported by Network Firewall's Suricata engine")
        return self


class TcpFlags(_Model):
    flags: list[Literal["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]] = Field(
        min_length=1
    )
    masks: list[Literal["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]] = Field(
        default_factory=list
    )


class StatelessRule(_Model):
    """A stateless rule: evaluated per packet, in ``priority`` order (lowest first)."""

    priority: int = Field(ge=1, le=65535)
    action: Literal["aws:pass", "aws:drop", "aws:forward_to_sfe"]
    sources: list[Cidr] = Field(default_factory=list)
    destinations: list[Cidr] = Field(default_factory=list)
    source_ports: list[PortRange] = Field(default_factory=list)
    destination_ports: list[PortRange] = Field(default_factory=list)
    protocols: list[Annotated[int, Field(ge=0, le=255)]] = Field(default_factory=list)
    tcp_flags: list[TcpFlags] = Field(default_factory=list)


class ManagedRuleGroup(_Model):
    """An AWS managed rule group by base name, e.g. ``ThreatSignaturesMalware``.

    The ``StrictOrder`` variant is used (the policy evaluates in strict order). ``capacity``
    is what the group reserves in the policy, if known; it is added to the policy total.
    """

    name: str
    capacity: int = Field(default=0, ge=0, le=limits.STATEFUL_POLICY_CAPACITY_MAX)

    @model_validator(mode="after")
    def _strict_order_name(self) -> ManagedRuleGroup:
        name = self.name
        if name.endswith("ActionOrder"):
            raise ValueError(
                f"{name!r} is the ActionOrder variant; this policy uses strict order, so give "
                f"the base name {name[: -len('ActionOrder')]!r}"
            )
        if name.endswith("StrictOrder"):
            name = name[: -len("StrictOrder")]
        if not _MANAGED_NAME.match(name):
            raise ValueError(f"{self.name!r} is not a managed rule group name")
        self.name = name
        return self


class CapacitySettings(_Model):
    """How rule groups are sized. Quotas can be raised with AWS; set them here if you did."""

    headroom: float = Field(default=0.2, ge=0.0, le=10.0)
    group_capacity_max: int = Field(default=limits.GROUP_CAPACITY_MAX, ge=1)
    groups_max: int = Field(default=limits.STATEFUL_GROUPS_PER_POLICY_MAX, ge=1)
    policy_capacity_max: int = Field(default=limits.STATEFUL_POLICY_CAPACITY_MAX, ge=1)


class RulesConfig(_Model):
    """``rules:`` in the stack config. Everything is optional; nothing is allowed by default."""

    allow_domains: DomainList | None = None
    allow_domain_ports: AllowDomainPorts = Field(default_factory=AllowDomainPorts)
    deny_domains: DomainList | None = None
    five_tuple_rules: list[FiveTupleRule] = Field(default_factory=list)
    stateless_rules: list[StatelessRule] = Field(default_factory=list)
    suricata_rules: list[str] = Field(default_factory=list)
    rule_files: list[str] = Field(default_factory=list)
    managed_rule_groups: list[ManagedRuleGroup] = Field(default_factory=list)
    ip_sets: dict[SetName, list[Cidr]] = Field(default_factory=dict)
    port_sets: dict[SetName, list[PortRange]] = Field(default_factory=dict)
    prefix_lists: dict[SetName, str] = Field(default_factory=dict)
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)
    stream_exception_policy: Literal["DROP", "CONTINUE", "REJECT"] = "DROP"
    rejected_rules: Literal["fail", "skip"] = "fail"
    group_prefix: str = Field(default="egress", pattern=r"^[a-z][a-z0-9-]{0,40}$")

    @model_validator(mode="after")
    def _consistent(self) -> RulesConfig:
        for name, arn in self.prefix_lists.items():
            if not _PREFIX_LIST_ARN.match(arn):
                raise ValueError(f"prefixLists.{name}: {arn!r} is not a managed prefix list ARN")
        if len(self.prefix_lists) > limits.IP_SET_REFERENCES_PER_GROUP_MAX:
            raise ValueError(
                f"{len(self.prefix_lists)} prefix lists; a rule group can reference at most "
                f"{limits.IP_SET_REFERENCES_PER_GROUP_MAX}"
            )
        clash = set(self.ip_sets) & set(self.port_sets)
        if clash:
            raise ValueError(f"{sorted(clash)} named as both an IP set and a port set")
        priorities = [rule.priority for rule in self.stateless_rules]
        if len(set(priorities)) != len(priorities):
            raise ValueError("statelessRules: priorities must be unique")
        sids = [rule.sid for rule in self.five_tuple_rules if rule.sid is not None]
        if len(set(sids)) != len(sids):
            raise ValueError("fiveTupleRules: sids must be unique")
        names = [group.name for group in self.managed_rule_groups]
        if len(set(names)) != len(names):
            raise ValueError("managedRuleGroups: a group is listed twice")
        return self
