"""Firewall rules: one rule model, validated against Network Firewall's limits before deploy.

Everything here is pure and uses only the Python standard library (it also runs inside the
rule-sync Lambda, whose runtime has only stdlib + boto3). The one exception is
``egress_net.rules.model`` (pydantic ``RulesConfig``), which is *not* imported by this package
and is only used by the Pulumi program and the CLI.

Public API (stable; import from ``egress_net.rules``)
-----------------------------------------------------

Parsing (``parser``)::

    parse_rules(text: str, *, filename: str = "<inline>") -> list[ParsedRule | ParseFailure]
    parse_rule_files(paths: Iterable[str | Path]) -> list[ParsedRule | ParseFailure]
    rule_files(paths: Iterable[str | Path]) -> list[Path]   # expands directories to *.rules

    ParsedRule      action, protocol, src, src_port, direction, dst, dst_port,
                    options: tuple[tuple[str, str | None], ...]  (ordered, as written),
                    sid: int | None, rev: int | None, gid: int, msg: str,
                    enabled: bool (False for shipped-commented ``# alert ...`` rules),
                    file: str, line: int (first physical line), text: str (rule, no ``#``),
                    .where -> "file:line", .category -> file stem ("emerging-dns"),
                    .option_values(name) -> list[str | None], .option_names,
                    .has_option(name), .header (the 7 header fields, shared by rules
                    written with the same header)
                    (option values, and a disabled rule's whole option list, are parsed
                    on first access; rev, gid and msg are read from them then)
    ParseFailure    file, line, text, problem; .where

Variables (``variables``)::

    RuleVariables(ip_sets: dict[str, list[str]], port_sets: dict[str, list[str]],
                  references: dict[str, str])   # @NAME -> prefix list ARN
    RuleVariables.for_home_net(home_net: list[str], *, ip_sets=None, port_sets=None,
                               references=None, suricata_defaults=False)
        HOME_NET defaults to the given spoke supernets; EXTERNAL_NET to its negation;
        suricata_defaults also defines Suricata's shipped $HTTP_SERVERS, $HTTP_PORTS, ...
        (SURICATA_ADDRESS_DEFAULTS, SURICATA_PORT_DEFAULTS) where not configured.
    rule_variables_for(model: str, home_net) -> {"HOME_NET": [...], "EXTERNAL_NET": [...]}
        the network sets every rule group of a firewall of that model declares
        (EXTERNAL_NET only where the firewall has no VPC: tgw-attached)
    .rule_group_variables(ip_names, port_names) -> pulumi_aws ``rule_variables`` dict

Validation (``validate``)::

    validate_rules(rules, *, variables: RuleVariables, strict_order: bool = True,
                   firewall_sees_nat_only: bool = False) -> ValidationResult
    ValidationResult  accepted: list[ParsedRule], rejected: list[Rejection],
                      warnings: list[Finding], disabled: list[ParsedRule],
                      parse_failures: list[ParseFailure];
                      .counts_by_reason() -> dict[str, int]
    Rejection/Finding reason (stable code, e.g. "unsupported-keyword:dataset"), detail,
                      where ("file:line"), sid
    Keywords Suricata 7.0 does not register are rejected (``unknown-keyword:<k>``, list in
    ``keywords``); two rules on one line are a malformed line.
    Reason codes and Network Firewall's unsupported features live in ``limits``
    (``UNSUPPORTED_KEYWORDS``, ``UNSUPPORTED_PROTOCOLS``, ``SUPPORTED_ACTIONS``, quotas).

Capacity (``capacity``)::

    suricata_capacity(rule_count: int) -> int
    five_tuple_capacity(rule_count: int) -> int
    domain_list_capacity(domain_count: int, target_type_count: int) -> int
    stateless_rule_capacity(*, sources=1, destinations=1, source_ports=1,
                            destination_ports=1, protocols=1, tcp_flags=1) -> int
    with_headroom(used: int, headroom: float, *, group_capacity_max: int) -> int

Splitting and capacity changes (``split``)::

    plan_groups(rules: Sequence[ParsedRule], *, group_capacity_max=30_000, groups_max=20,
                policy_capacity_max=30_000, headroom=0.2, reserved_capacity=0,
                reserved_groups=0, prefix="egress-suricata",
                current: Mapping[str, int] | None = None) -> GroupPlan
    GroupPlan       groups: list[PlannedGroup], total_capacity, problems: list[str]
                    (non-empty = the plan cannot deploy), warnings: list[Finding]
    PlannedGroup    key (stable across runs), name (key + capacity: capacity is immutable,
                    so a new capacity means a new name), capacity, rule_count, sids,
                    categories, rules_string, ip_set_refs, port_set_refs, prefix_list_refs
    replacement_plan(current: Mapping[str, int], plan: GroupPlan) -> list[GroupChange]
    GroupChange     key, action ("create" | "update" | "replace" | "delete"),
                    old_name, new_name, old_capacity, new_capacity
                    (replace = create new, switch the policy, then delete the old)

Policy (``policy``; takes a ``RulesConfig`` but does not import pydantic)::

    plan_policy(cfg: RulesConfig, *, home_net: list[str], base_dir: Path,
                mode: Literal["drop", "alert"] = "drop", firewall_sees_nat_only: bool = False,
                region: str = "${region}", current: Mapping[str, int] | None = None,
                scoped_allow=(), deny_tcp_between_spokes: bool = True)
        -> PolicyPlan
    PolicyPlan      stateful_groups / stateless_groups: list[RuleGroupSpec],
                    managed_groups: list[ManagedGroupRef], stateful_engine_options (dict),
                    stateful_default_actions, stateless_default_actions, total capacities,
                    validation: ValidationResult, changes: list[GroupChange]
    RuleGroupSpec   name, key, type ("STATEFUL" | "STATELESS"), capacity, priority,
                    rule_group (dict, pulumi_aws v7 ``RuleGroup(rule_group=...)`` shape)
    ManagedGroupRef name, arn, priority, capacity, override_action ("DROP_TO_ALERT" in alert
                    mode)
    Raises RuleError / ConfigError for anything in config that would fail at deploy.

Shared suffixes (``suffixes``)::

    SHARED_SUFFIXES, SHARED_SUFFIX_PATTERNS
    shared_suffix_match(entry) -> SharedSuffixMatch(suffix, hint) | None
        an allow entry at or above a suffix anyone can own names under (.amazonaws.com)

Report (``report``; used by ``egress-net rules check``)::

    check_paths(paths, *, variables: RuleVariables, strict: bool = False,
                headroom: float = 0.2, group_capacity_max=30_000, groups_max=20,
                policy_capacity_max=30_000) -> CheckReport
    render_report(report: CheckReport, *, examples: int = 3) -> str
    CheckReport.exit_code -> 0 if the plan deploys (1 otherwise; with strict, any
    rejection also fails)
"""

from __future__ import annotations

from egress_net.rules.capacity import (
    domain_list_capacity,
    five_tuple_capacity,
    stateless_rule_capacity,
    suricata_capacity,
    with_headroom,
)
from egress_net.rules.parser import (
    ParsedRule,
    ParseFailure,
    parse_rule,
    parse_rule_files,
    parse_rules,
    rule_files,
)
from egress_net.rules.policy import ManagedGroupRef, PolicyPlan, RuleGroupSpec, plan_policy
from egress_net.rules.split import (
    GroupChange,
    GroupPlan,
    PlannedGroup,
    group_name,
    plan_groups,
    replacement_plan,
)
from egress_net.rules.validate import Finding, Rejection, ValidationResult, validate_rules
from egress_net.rules.variables import RuleVariables

__all__ = [
    "Finding",
    "GroupChange",
    "GroupPlan",
    "ManagedGroupRef",
    "ParseFailure",
    "ParsedRule",
    "PlannedGroup",
    "PolicyPlan",
    "Rejection",
    "RuleGroupSpec",
    "RuleVariables",
    "ValidationResult",
    "domain_list_capacity",
    "five_tuple_capacity",
    "group_name",
    "parse_rule",
    "parse_rule_files",
    "parse_rules",
    "plan_groups",
    "plan_policy",
    "replacement_plan",
    "rule_files",
    "stateless_rule_capacity",
    "suricata_capacity",
    "validate_rules",
    "with_headroom",
]
