"""Turn a ``RulesConfig`` into everything the Pulumi program declares, as plain data.

Stdlib only at run time (``RulesConfig`` is imported for type checking alone). The policy
evaluates stateful groups in strict order; priorities are explicit and follow the order a
reader expects: deny lists first, then AWS managed threat groups, then the team's 5-tuple
and Suricata rules, and allow lists last, so a known-bad destination is never let through by
an allow entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from egress_net.errors import ConfigError, RuleError
from egress_net.partitions import partition_of
from egress_net.rules import limits
from egress_net.rules.capacity import (
    domain_list_capacity,
    five_tuple_capacity,
    stable_capacity,
    stateless_rule_capacity,
    with_headroom,
)
from egress_net.rules.parser import ParsedRule, ParseFailure, parse_rules
from egress_net.rules.split import (
    GroupChange,
    GroupPlan,
    PlannedGroup,
    group_name,
    plan_groups,
    policy_problems,
    replacement_plan,
)
from egress_net.rules.validate import ValidationResult, nat_scope_problem, validate_rules
from egress_net.rules.variables import RuleVariables

if TYPE_CHECKING:
    from egress_net.rules.model import DomainList, FiveTupleRule, RulesConfig, StatelessRule

KEY = "egress-net:rules"
STRICT_ORDER = {"rule_order": "STRICT_ORDER"}
PRIORITY_STEP = 10
# Priority bands of the strict-order policy: the groups planned here take 10, 20, ... (at most
# 20 groups, so < ET_PRIORITY_MIN); the Emerging Threats sync attaches its groups from its own
# start in [ET_PRIORITY_MIN, ALLOW_DOMAINS_PRIORITY); the allow list always comes last, so no
# threat rule is ever pre-empted by an allow entry.
ET_PRIORITY_MIN = 1_000
ALLOW_DOMAINS_PRIORITY = 60_000
# After everything: the default actions only drop *established* flows, and a one-way UDP,
# ICMP, GRE, ESP (any protocol) flow never becomes established, so without this group it
# would pass (a classic exfiltration channel); neither do they stop a TCP handshake, which
# between spokes is a port scan. Alert mode logs the same traffic instead.
DEFAULT_DENY_PRIORITY = 65_000
DEFAULT_DENY_SID_BASE = 2_900_001
FIVE_TUPLE_SID_BASE = 1_000_001


@dataclass(frozen=True)
class RuleGroupSpec:
    """One ``aws.networkfirewall.RuleGroup`` and its place in the policy."""

    key: str
    name: str
    type: Literal["STATEFUL", "STATELESS"]
    capacity: int
    used: int
    priority: int
    rule_group: dict[str, Any]
    description: str


# Network Firewall's StatefulRuleGroupOverride: the managed group's drop rules only alert.
# It applies to AWS managed rule groups only (API reference, StatefulRuleGroupOverride;
# pulumi_aws ``stateful_rule_group_references[].override.action``).
DROP_TO_ALERT = "DROP_TO_ALERT"


@dataclass(frozen=True)
class ManagedGroupRef:
    name: str
    arn: str
    priority: int
    capacity: int
    # DROP_TO_ALERT in alert mode: a managed threat group would otherwise still drop.
    override_action: str | None = None


@dataclass
class PolicyPlan:
    stateful_groups: list[RuleGroupSpec] = field(default_factory=list)
    stateless_groups: list[RuleGroupSpec] = field(default_factory=list)
    managed_groups: list[ManagedGroupRef] = field(default_factory=list)
    stateful_engine_options: dict[str, str] = field(default_factory=dict)
    stateful_default_actions: list[str] = field(default_factory=list)
    stateless_default_actions: list[str] = field(default_factory=list)
    stateless_fragment_default_actions: list[str] = field(default_factory=list)
    validation: ValidationResult = field(default_factory=ValidationResult)
    suricata_plan: GroupPlan = field(default_factory=GroupPlan)
    changes: list[GroupChange] = field(default_factory=list)

    @property
    def stateful_capacity(self) -> int:
        return sum(g.capacity for g in self.stateful_groups) + sum(
            m.capacity for m in self.managed_groups
        )

    @property
    def stateless_capacity(self) -> int:
        return sum(g.capacity for g in self.stateless_groups)

    @property
    def stateful_group_count(self) -> int:
        return len(self.stateful_groups) + len(self.managed_groups)


def managed_group_arn(name: str, region: str) -> str:
    """ARN of the StrictOrder variant of an AWS managed stateful rule group, in the region's
    partition (Network Firewall guide, "AWS managed threat signature rule groups" lists them as
    ``arn:aws:network-firewall:<region>:aws-managed:stateful-rulegroup/<name>``; GovCloud and
    China use their own partition as every ARN does)."""
    partition = partition_of(region).name
    resource = f"stateful-rulegroup/{name}StrictOrder"
    return f"arn:{partition}:network-firewall:{region}:aws-managed:{resource}"


# Each default-deny rule keeps its sid whatever the config, so a sid in an alert log or a
# metric filter always means the same rule (sids are unique per rule group: Network Firewall
# Developer Guide, "Signature ID uniqueness").
DEFAULT_DENY_SIDS = {"udp": 0, "icmp": 1, "tcp-between-spokes": 2, "other-ip": 3}
# IANA protocol numbers the ``ip`` rule leaves to the rules before it: TCP (to the default
# action and the TLS/HTTP pass rules), UDP and ICMP (their own rules). Numbers need no name
# lookup in the engine. ICMPv6 (58) stays in: the ``icmp`` rule covers it in Suricata 7, and
# a second alert on it in alert mode is cheaper than a gap if it did not.
OTHER_IP_EXCLUDES = (6, 17, 1)


def default_deny_rules(
    mode: Literal["drop", "alert"], *, deny_tcp_between_spokes: bool = True
) -> list[str]:
    """The last rules of the policy: what the default action would let through.

    The default action drops only *established* flows: a one-way UDP or ICMP flow never gets
    there, whatever its source, nor does a one-way tunnel of any other IP protocol (GRE, ESP,
    AH, SCTP, IP-in-IP, ...), and every TCP handshake passes. So every protocol but TCP from
    any source, and (unless spoke-to-spoke traffic is open by design) TCP from one spoke to
    another, are dropped here unless an earlier rule passed the flow. A TCP flow to the
    internet is left to the default action: its TLS/HTTP pass rules can only match after the
    handshake, so the ``ip`` rule must not match TCP.

    The ``ip`` rule leaves out UDP and ICMP too (``ip_proto:!6; ip_proto:!17; ip_proto:!1;``,
    Suricata ANDs the negations, src/detect-ipproto.c): in alert mode an ``alert`` does not end
    evaluation, so an overlap would log every UDP and ICMP packet twice. AWS's own default
    block rules are written the same way (AWS Security Services Best Practices, Network
    Firewall: "Any IP protocols other than TCP, UDP, and ICMP").
    """
    action = "drop" if mode == "drop" else "alert"
    others = "".join(f" ip_proto:!{number};" for number in OTHER_IP_EXCLUDES)
    # (kind, header, what it denies, further options)
    matches = [
        ("udp", "udp any any -> any any", "udp that no rule passed", ""),
        ("icmp", "icmp any any -> any any", "icmp that no rule passed", ""),
    ]
    if deny_tcp_between_spokes:
        matches.append(
            ("tcp-between-spokes", "tcp $HOME_NET any -> $HOME_NET any", "tcp between spokes", "")
        )
    matches.append(
        ("other-ip", "ip any any -> any any", "ip protocol other than tcp/udp/icmp", others)
    )
    return [
        f'{action} {match} (msg:"egress-net default deny: {what}";{options} '
        f"sid:{DEFAULT_DENY_SID_BASE + DEFAULT_DENY_SIDS[kind]}; rev:1;)"
        for kind, match, what, options in matches
    ]


def default_actions(mode: Literal["drop", "alert"]) -> list[str]:
    """Strict-order default: drop what no rule passed (and log it); alert mode only logs."""
    if mode == "drop":
        return ["aws:drop_established", "aws:alert_established"]
    if mode == "alert":
        return ["aws:alert_established"]
    raise ConfigError(f"{KEY}.mode", f"mode must be 'drop' or 'alert', got {mode!r}")


def _capacity_for(
    key: str, used: int, headroom: float, group_max: int, current: Mapping[str, int]
) -> int:
    deployed = current.get(key)
    if deployed is not None and deployed >= used:
        return deployed
    wanted = with_headroom(used, headroom, group_capacity_max=group_max)
    return stable_capacity(wanted, group_capacity_max=group_max)


def _check_group_capacity(where: str, used: int, group_max: int) -> None:
    if used > group_max:
        raise ConfigError(
            where,
            f"needs capacity {used}; a rule group holds at most {group_max}",
            "split the list, or raise capacity.groupCapacityMax if AWS raised your quota",
        )


def _domain_group(
    key: str,
    kind: str,
    domains: DomainList,
    variables: dict[str, Any],
    headroom: float,
    group_max: int,
    current: Mapping[str, int],
    where: str,
) -> tuple[int, int, dict[str, Any]]:
    used = domain_list_capacity(len(domains.domains), len(domains.target_types))
    _check_group_capacity(where, used, group_max)
    capacity = _capacity_for(key, used, headroom, group_max, current)
    rule_group = {
        "rule_variables": variables,
        "rules_source": {
            "rules_source_list": {
                "generated_rules_type": kind,
                "target_types": list(domains.target_types),
                "targets": list(domains.domains),
            }
        },
        "stateful_rule_options": dict(STRICT_ORDER),
    }
    return used, capacity, rule_group


ALLOW_SID_BASE = 2_000_001


@dataclass(frozen=True)
class ScopedAllow:
    """Domains allowed for one source only (a spoke's CIDR), on top of the shared allow list."""

    name: str
    source: str  # CIDR
    domains: tuple[str, ...]
    target_types: tuple[str, ...] = ("TLS_SNI", "HTTP_HOST")


SCOPED_ALLOW_SID_BASE = 2_500_001
# Where an allowed name is trusted: TLS on 443 and HTTP on 80, plus the configured
# ``rules.allowDomainPorts``. A client chooses the SNI/Host it sends, so a name pass rule on
# any port would let it reach any address on any port by presenting an allowed name.
TLS_PORT = "443"
HTTP_PORT = "80"


@dataclass(frozen=True)
class DomainPorts:
    """Destination ports the domain pass rules match on."""

    tls: tuple[str, ...] = (TLS_PORT,)
    http: tuple[str, ...] = (HTTP_PORT,)

    @classmethod
    def with_extra(cls, tls: Sequence[str] = (), http: Sequence[str] = ()) -> DomainPorts:
        return cls(tuple(dict.fromkeys((TLS_PORT, *tls))), tuple(dict.fromkeys((HTTP_PORT, *http))))


def _port_field(ports: Sequence[str]) -> str:
    return ports[0] if len(ports) == 1 else "[" + ",".join(ports) + "]"


def domain_pass_rules(
    domains: DomainList | ScopedAllow,
    source: str = "$HOME_NET",
    sid_start: int = ALLOW_SID_BASE,
    ports: DomainPorts = DomainPorts(),
) -> list[str]:
    """Suricata pass rules for allowed domains (``.example.com`` = it and its subdomains),
    each on its protocol's ports only."""
    rules: list[str] = []
    sid = sid_start
    tls_ports, http_ports = _port_field(ports.tls), _port_field(ports.http)
    for domain in domains.domains:
        if domain.startswith("."):
            match = f'dotprefix; content:"{domain}"; endswith;'
        else:
            match = f'content:"{domain}"; startswith; endswith;'
        if "TLS_SNI" in domains.target_types:
            rules.append(
                f"pass tls {source} any -> $EXTERNAL_NET {tls_ports} (tls.sni; {match} nocase; "
                f'flow:to_server; msg:"egress allow {domain}"; sid:{sid}; rev:1;)'
            )
            sid += 1
        if "HTTP_HOST" in domains.target_types:
            # http.host is normalized to lower case, so no nocase.
            rules.append(
                f"pass http {source} any -> $EXTERNAL_NET {http_ports} (http.host; {match} "
                f'flow:to_server; msg:"egress allow {domain}"; sid:{sid}; rev:1;)'
            )
            sid += 1
    return rules


def _domain_pass_group(
    key: str,
    domains: DomainList,
    variables: dict[str, Any],
    headroom: float,
    group_max: int,
    current: Mapping[str, int],
    ports: DomainPorts,
) -> tuple[int, int, dict[str, Any]]:
    rules = domain_pass_rules(domains, ports=ports)
    used = len(rules)
    capacity = _capacity_for(key, used, headroom, group_max, current)
    rule_group = {
        "rule_variables": variables,
        "rules_source": {"rules_string": "\n".join(rules)},
        "stateful_rule_options": dict(STRICT_ORDER),
    }
    return used, capacity, rule_group


def _address_ok(value: str, variables: RuleVariables) -> bool:
    if value == "ANY":
        return True
    if value.startswith("$"):
        return variables.has_ip_set(value[1:])
    from ipaddress import ip_network

    try:
        ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def _port_ok(value: str, variables: RuleVariables) -> bool:
    if value == "ANY":
        return True
    if value.startswith("$"):
        return variables.has_port_set(value[1:])
    low, _, high = value.partition(":")
    if not low.isdigit() or (high and not high.isdigit()):
        return False
    return 0 <= int(low) <= int(high or low) <= 65535


def five_tuple_rule_spec(
    index: int, rule: FiveTupleRule, variables: RuleVariables, *, nat_only: bool
) -> dict[str, Any]:
    """One ``stateful_rules`` entry; raises ConfigError naming the offending key."""
    where = f"{KEY}.fiveTupleRules[{index}]"
    for field_name, key in (("source", "source"), ("destination", "destination")):
        value = getattr(rule, field_name)
        if not _address_ok(value, variables):
            raise ConfigError(
                f"{where}.{key}",
                f"{value!r} is not ANY, a CIDR block or a defined $IP_SET",
                "define the set under rules.ipSets, or write a CIDR such as 10.0.0.0/16",
            )
    for field_name, key in (("source_port", "sourcePort"), ("destination_port", "destinationPort")):
        value = getattr(rule, field_name)
        if not _port_ok(value, variables):
            raise ConfigError(
                f"{where}.{key}",
                f"{value!r} is not ANY, a port, 'from:to' or a defined $PORT_SET",
                "define the set under rules.portSets",
            )
    if nat_only:
        suricata_source = "any" if rule.source == "ANY" else rule.source
        suricata_dest = "any" if rule.destination == "ANY" else rule.destination
        direction = "->" if rule.direction == "FORWARD" else "<>"
        why = nat_scope_problem(suricata_source, direction, suricata_dest)
        if why:
            raise RuleError(
                f"{where}.source",
                why,
                "the firewall is placed after the NAT gateway (firewallSeesNatOnly)",
            )
    sid = rule.sid if rule.sid is not None else FIVE_TUPLE_SID_BASE + index
    options = [{"keyword": "sid", "settings": [str(sid)]}]
    if rule.msg:
        options.insert(0, {"keyword": "msg", "settings": [_quoted(rule.msg)]})
    return {
        "action": rule.action,
        "header": {
            "protocol": rule.protocol,
            "source": rule.source,
            "source_port": rule.source_port,
            "direction": rule.direction,
            "destination": rule.destination,
            "destination_port": rule.destination_port,
        },
        "rule_options": options,
    }


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace(";", "\\;")
    return f'"{escaped}"'


def _port_ranges(values: list[str]) -> list[dict[str, int]]:
    ranges = []
    for value in values:
        low, _, high = value.partition(":")
        ranges.append({"from_port": int(low), "to_port": int(high or low)})
    return ranges


def stateless_rule_spec(rule: StatelessRule) -> tuple[int, dict[str, Any]]:
    """(capacity, one ``stateless_rules`` entry) for a configured stateless rule."""
    match: dict[str, Any] = {}
    if rule.sources:
        match["sources"] = [{"address_definition": cidr} for cidr in rule.sources]
    if rule.destinations:
        match["destinations"] = [{"address_definition": cidr} for cidr in rule.destinations]
    if rule.source_ports:
        match["source_ports"] = _port_ranges(rule.source_ports)
    if rule.destination_ports:
        match["destination_ports"] = _port_ranges(rule.destination_ports)
    if rule.protocols:
        match["protocols"] = list(rule.protocols)
    if rule.tcp_flags:
        match["tcp_flags"] = [
            {"flags": list(f.flags), **({"masks": list(f.masks)} if f.masks else {})}
            for f in rule.tcp_flags
        ]
    capacity = stateless_rule_capacity(
        sources=len(rule.sources),
        destinations=len(rule.destinations),
        source_ports=len(rule.source_ports),
        destination_ports=len(rule.destination_ports),
        protocols=len(rule.protocols),
        tcp_flags=len(rule.tcp_flags),
    )
    entry = {
        "priority": rule.priority,
        "rule_definition": {"actions": [rule.action], "match_attributes": match},
    }
    return capacity, entry


def _suricata_sources(cfg: RulesConfig, base_dir: Path) -> list[ParsedRule | ParseFailure]:
    parsed: list[ParsedRule | ParseFailure] = []
    for index, text in enumerate(cfg.suricata_rules):
        parsed.extend(parse_rules(text, filename=f"{KEY}.suricataRules[{index}]"))
    for index, raw in enumerate(cfg.rule_files):
        path = (base_dir / raw).resolve()
        where = f"{KEY}.ruleFiles[{index}]"
        files = sorted(path.glob("*.rules")) if path.is_dir() else [path]
        if not path.exists() or (path.is_dir() and not files):
            raise ConfigError(
                where,
                f"{raw!r} does not exist or holds no .rules files",
                f"paths are relative to the project directory {base_dir}",
            )
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(where, f"cannot read {file}: {err}") from None
            parsed.extend(parse_rules(text, filename=str(file)))
    return parsed


def _raise_for_rejections(validation: ValidationResult, skip_rejected: bool) -> None:
    failures = validation.deploy_failures(skip_rejected=skip_rejected)
    if not failures:
        return
    where, first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    behind_nat = any(r.reason == limits.R_NAT_SCOPE for r in validation.rejected)
    check = "egress-net rules check --after-nat" if behind_nat else "egress-net rules check"
    hint = f"run `{check}` on the files for the full list; fix or remove these rules"
    skippable = len(failures) > len(validation.deploy_failures(skip_rejected=True))
    if skip_rejected:
        hint += (
            " (rules.rejectedRules: skip leaves out rules Network Firewall rejects, but not"
            " malformed lines or source-scoped rules behind NAT)"
        )
    elif skippable:
        hint += ", or set rules.rejectedRules: skip to deploy without the rejected ones"
    raise RuleError(where, f"{first}{more}", hint)


def stream_exception_policy(cfg: RulesConfig, mode: Literal["drop", "alert"]) -> str:
    """What the engine does with a flow it lost mid-stream: as configured, else DROP in drop
    mode and CONTINUE in alert mode, where nothing the user did not write may drop."""
    if cfg.stream_exception_policy is not None:
        return cfg.stream_exception_policy
    return "CONTINUE" if mode == "alert" else "DROP"


def plan_policy(
    cfg: RulesConfig,
    *,
    home_net: list[str],
    base_dir: Path,
    mode: Literal["drop", "alert"] = "drop",
    firewall_sees_nat_only: bool = False,
    region: str = "${region}",
    current: Mapping[str, int] | None = None,
    scoped_allow: Sequence[ScopedAllow] = (),
    deny_tcp_between_spokes: bool = True,
) -> PolicyPlan:
    """Everything the firewall policy needs, validated; raises before any resource exists.

    ``home_net`` is what ``$HOME_NET`` means (the spoke supernets; behind a NAT-first
    placement, the addresses the firewall actually sees). ``current`` maps a group key to the
    capacity it was deployed with, so groups that still fit are updated in place and groups
    that must grow are replaced (see ``PolicyPlan.changes``). ``deny_tcp_between_spokes`` is
    False only where spoke-to-spoke traffic is open by design (it never reaches the firewall).
    Suricata's shipped variables (``$HTTP_SERVERS``, ``$HTTP_PORTS`` …) are defined for rule
    files, as ``egress-net rules check`` and the ET sync define them.
    """
    current = dict(current or {})
    caps = cfg.capacity
    headroom, group_max = caps.headroom, caps.group_capacity_max
    variables = RuleVariables.for_home_net(
        home_net,
        ip_sets={k: list(v) for k, v in cfg.ip_sets.items()},
        port_sets={k: list(v) for k, v in cfg.port_sets.items()},
        references=dict(cfg.prefix_lists),
        suricata_defaults=True,
    )
    domain_ports = DomainPorts.with_extra(cfg.allow_domain_ports.tls, cfg.allow_domain_ports.http)
    plan = PolicyPlan(
        stateful_engine_options={
            "rule_order": "STRICT_ORDER",
            "stream_exception_policy": stream_exception_policy(cfg, mode),
        },
        stateful_default_actions=default_actions(mode),
        stateless_default_actions=["aws:forward_to_sfe"],
        stateless_fragment_default_actions=["aws:forward_to_sfe"],
    )
    prefix = cfg.group_prefix
    home_only = variables.rule_group_variables(set(), set())
    ordered: list[tuple[str, str, int, int, dict[str, Any], str]] = []

    if cfg.deny_domains is not None:
        key = f"{prefix}-deny-domains"
        used, capacity, group = _domain_group(
            key,
            "DENYLIST",
            cfg.deny_domains,
            home_only,
            headroom,
            group_max,
            current,
            f"{KEY}.denyDomains",
        )
        ordered.append((key, "deny", used, capacity, group, "Denied domains (TLS SNI/HTTP host)"))

    for managed in cfg.managed_rule_groups:
        ordered.append((managed.name, "managed", managed.capacity, managed.capacity, {}, ""))

    if cfg.five_tuple_rules:
        key = f"{prefix}-five-tuple"
        entries = [
            five_tuple_rule_spec(i, rule, variables, nat_only=firewall_sees_nat_only)
            for i, rule in enumerate(cfg.five_tuple_rules)
        ]
        used = five_tuple_capacity(len(entries))
        _check_group_capacity(f"{KEY}.fiveTupleRules", used, group_max)
        names = {r.source[1:] for r in cfg.five_tuple_rules if r.source.startswith("$")}
        names |= {r.destination[1:] for r in cfg.five_tuple_rules if r.destination.startswith("$")}
        ports = {r.source_port[1:] for r in cfg.five_tuple_rules if r.source_port.startswith("$")}
        ports |= {
            r.destination_port[1:]
            for r in cfg.five_tuple_rules
            if r.destination_port.startswith("$")
        }
        group = {
            "rule_variables": variables.rule_group_variables(names, ports),
            "rules_source": {"stateful_rules": entries},
            "stateful_rule_options": dict(STRICT_ORDER),
        }
        capacity = _capacity_for(key, used, headroom, group_max, current)
        ordered.append((key, "five-tuple", used, capacity, group, "Stateful 5-tuple rules"))

    validation = validate_rules(
        _suricata_sources(cfg, base_dir),
        variables=variables,
        strict_order=True,
        firewall_sees_nat_only=firewall_sees_nat_only,
    )
    plan.validation = validation
    _raise_for_rejections(validation, skip_rejected=cfg.rejected_rules == "skip")

    allow: tuple[str, int, int, dict[str, Any]] | None = None
    if cfg.allow_domains is not None:
        key = f"{prefix}-allow-domains"
        # Pass rules, not an ALLOWLIST domain group: the rules Network Firewall generates for
        # one match any destination port, and they also drop every other TLS/HTTP flow, which
        # alert mode must not do. What no rule passes is left to the default action (drop, or
        # alert only) and the default-deny group.
        used, capacity, group = _domain_pass_group(
            key, cfg.allow_domains, home_only, headroom, group_max, current, domain_ports
        )
        allow = (key, used, capacity, group)

    scoped: tuple[str, int, int, dict[str, Any]] | None = None
    if scoped_allow:
        # Per-spoke allow lists: pass rules whose source is the spoke's own CIDR.
        key = f"{prefix}-spoke-allow"
        rules: list[str] = []
        for item in scoped_allow:
            rules += domain_pass_rules(
                item, item.source, SCOPED_ALLOW_SID_BASE + len(rules), domain_ports
            )
        used = len(rules)
        capacity = _capacity_for(key, used, headroom, group_max, current)
        scoped = (
            key,
            used,
            capacity,
            {
                "rule_variables": home_only,
                "rules_source": {"rules_string": "\n".join(rules)},
                "stateful_rule_options": dict(STRICT_ORDER),
            },
        )

    others = len(ordered) + (1 if allow else 0) + (1 if scoped else 0)
    reserved = (
        sum(item[3] for item in ordered) + (allow[2] if allow else 0) + (scoped[2] if scoped else 0)
    )
    suricata = plan_groups(
        validation.accepted,
        group_capacity_max=group_max,
        groups_max=caps.groups_max,
        policy_capacity_max=caps.policy_capacity_max,
        headroom=headroom,
        reserved_capacity=reserved,
        reserved_groups=others,
        prefix=f"{prefix}-suricata",
        current=current,
    )
    plan.suricata_plan = suricata
    for planned in suricata.groups:
        capacity = (
            planned.capacity
            if planned.key in current
            else stable_capacity(planned.capacity, group_capacity_max=group_max)
        )
        ordered.append(
            (
                planned.key,
                "suricata",
                planned.used,
                capacity,
                _suricata_rule_group(planned, variables),
                f"Suricata rules: {', '.join(planned.categories)[:200]}",
            )
        )
    if scoped:
        ordered.append(
            (*scoped[:1], "scoped-allow", *scoped[1:], "Domains allowed for single spokes")
        )
    if allow:
        ordered.append(
            (allow[0], "allow", allow[1], allow[2], allow[3], "Allowed domains (TLS SNI/HTTP host)")
        )
    deny_rules = default_deny_rules(mode, deny_tcp_between_spokes=deny_tcp_between_spokes)
    key = f"{prefix}-default-deny"
    ordered.append(
        (
            key,
            "default-deny",
            len(deny_rules),
            _capacity_for(key, len(deny_rules), headroom, group_max, current),
            {
                "rule_variables": home_only,
                "rules_source": {"rules_string": "\n".join(deny_rules)},
                "stateful_rule_options": dict(STRICT_ORDER),
            },
            "Every protocol but TCP from any source, TCP between spokes, that no rule passed",
        )
    )

    problems = suricata.problems or policy_problems(
        group_count=len(ordered),
        capacity=sum(item[3] for item in ordered),
        groups_max=caps.groups_max,
        policy_capacity_max=caps.policy_capacity_max,
    )
    if problems:
        raise ConfigError(
            f"{KEY}.capacity",
            "; ".join(problems),
            "the rule groups would not fit the firewall policy",
        )

    for position, (key, kind, used, capacity, group, description) in enumerate(ordered, 1):
        priority = {
            "allow": ALLOW_DOMAINS_PRIORITY,
            "scoped-allow": ALLOW_DOMAINS_PRIORITY - PRIORITY_STEP,
            "default-deny": DEFAULT_DENY_PRIORITY,
        }.get(kind, position * PRIORITY_STEP)
        if kind == "managed":
            plan.managed_groups.append(
                ManagedGroupRef(
                    f"{key}StrictOrder",
                    managed_group_arn(key, region),
                    priority,
                    capacity,
                    # Alert mode never drops: the managed group's drop rules only alert.
                    DROP_TO_ALERT if mode == "alert" else None,
                )
            )
            continue
        plan.stateful_groups.append(
            RuleGroupSpec(
                key,
                group_name(key, capacity),
                "STATEFUL",
                capacity,
                used,
                priority,
                group,
                description,
            )
        )

    if cfg.stateless_rules:
        plan.stateless_groups.append(_stateless_group(cfg, prefix, headroom, group_max, current))

    plan.changes = replacement_plan(
        current, _as_group_plan(plan.stateful_groups + plan.stateless_groups)
    )
    return plan


def _stateless_group(
    cfg: RulesConfig, prefix: str, headroom: float, group_max: int, current: Mapping[str, int]
) -> RuleGroupSpec:
    key = f"{prefix}-stateless"
    used = 0
    entries = []
    for rule in sorted(cfg.stateless_rules, key=lambda r: r.priority):
        rule_capacity, entry = stateless_rule_spec(rule)
        used += rule_capacity
        entries.append(entry)
    _check_group_capacity(f"{KEY}.statelessRules", used, group_max)
    if used > limits.STATELESS_POLICY_CAPACITY_MAX:
        raise ConfigError(
            f"{KEY}.statelessRules",
            f"needs stateless capacity {used}; a policy allows "
            f"{limits.STATELESS_POLICY_CAPACITY_MAX}",
        )
    capacity = _capacity_for(key, used, headroom, group_max, current)
    group = {"rules_source": {"stateless_rules_and_custom_actions": {"stateless_rules": entries}}}
    return RuleGroupSpec(
        key,
        group_name(key, capacity),
        "STATELESS",
        capacity,
        used,
        PRIORITY_STEP,
        group,
        "Stateless rules",
    )


def _suricata_rule_group(planned: PlannedGroup, variables: RuleVariables) -> dict[str, Any]:
    group: dict[str, Any] = {
        "rule_variables": variables.rule_group_variables(
            set(planned.ip_set_refs), set(planned.port_set_refs)
        ),
        "rules_source": {"rules_string": planned.rules_string},
        "stateful_rule_options": dict(STRICT_ORDER),
    }
    if planned.prefix_list_refs:
        group["reference_sets"] = {
            "ip_set_references": [
                {"key": ref, "ip_set_references": [{"reference_arn": variables.references[ref]}]}
                for ref in sorted(planned.prefix_list_refs)
            ]
        }
    return group


def _as_group_plan(specs: list[RuleGroupSpec]) -> GroupPlan:
    plan = GroupPlan()
    for spec in specs:
        plan.groups.append(
            PlannedGroup(
                key=spec.key,
                name=spec.name,
                capacity=spec.capacity,
                used=spec.used,
                rule_count=spec.used,
                sids=(),
                categories=(),
                rules_string="",
                rules_bytes=0,
                ip_set_refs=frozenset(),
                port_set_refs=frozenset(),
                prefix_list_refs=frozenset(),
            )
        )
    return plan
