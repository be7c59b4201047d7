"""From ruleset files to the rule groups to deploy: select, parse, validate, split, check quotas.

The same code runs in the function and in ``egress-net rules sync --dry-run``. Parsing,
validation, capacity and splitting come from ``egress_net.rules`` (shared with the program
and ``rules check``), so a rule the CLI accepts is a rule the function deploys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from egress_net.et_sync.apply import DesiredGroup
from egress_net.et_sync.errors import CategoryError, EmptyPlanError, QuotaExceededError
from egress_net.et_sync.manifest import RejectedRule
from egress_net.et_sync.select import (
    CATEGORY_SETTINGS,
    apply_ids_to_ips,
    header_variables,
    normalize_category,
    ruleset_categories_text,
    select_categories,
    unknown_category_problems,
    variable_sets,
)
from egress_net.et_sync.settings import Quotas, SyncSettings
from egress_net.rules.parser import ParsedRule, parse_rules
from egress_net.rules.split import GroupPlan, plan_groups
from egress_net.rules.validate import validate_rules
from egress_net.rules.variables import RuleVariables

# progress(files_done, files_total, rules_parsed)
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class SyncPlan:
    version: str
    groups: tuple[DesiredGroup, ...]
    rejected: tuple[RejectedRule, ...]
    categories: tuple[str, ...]
    capacity_by_category: Mapping[str, int]
    stats: Mapping[str, int]
    revisions: Mapping[int, int] = field(default_factory=dict)  # sid -> rev, accepted rules
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def total_capacity(self) -> int:
        return sum(group.capacity for group in self.groups)

    @property
    def needed_capacity(self) -> int:
        return sum(group.needed_capacity for group in self.groups)

    @property
    def total_rules(self) -> int:
        return sum(len(group.sids) for group in self.groups)


def categories_to_drop(capacity_by_category: Mapping[str, int], over_by: int) -> list[str]:
    """The fewest categories whose capacity covers ``over_by`` (largest first)."""
    chosen: list[str] = []
    freed = 0
    ranked = sorted(capacity_by_category.items(), key=lambda kv: (-kv[1], kv[0]))
    for category, capacity in ranked:
        if freed >= over_by:
            break
        chosen.append(category)
        freed += capacity
    return chosen


def quota_problems(plan: SyncPlan, quotas: Quotas) -> list[str]:
    """Each quota the plan exceeds, by how much, and the categories to drop to fit."""
    problems: list[str] = []
    over_capacity = plan.needed_capacity - quotas.capacity_budget
    if over_capacity > 0:
        drop = categories_to_drop(plan.capacity_by_category, over_capacity)
        problems.append(
            f"needs {plan.needed_capacity} stateful capacity but {quotas.capacity_budget} is "
            f"available ({quotas.policy_capacity} policy quota - {quotas.reserved_capacity} "
            f"reserved); over by {over_capacity}. Exclude categories: {', '.join(drop)}"
        )
    over_groups = len(plan.groups) - quotas.group_budget
    if over_groups > 0:
        problems.append(
            f"needs {len(plan.groups)} rule groups but {quotas.group_budget} are available "
            f"({quotas.policy_groups} per policy - {quotas.reserved_groups} reserved); over by "
            f"{over_groups}. Raise groupCapacityMax or exclude categories"
        )
    return problems + [p for p in plan.problems if p not in problems]


def check_quotas(plan: SyncPlan, quotas: Quotas) -> None:
    problems = quota_problems(plan, quotas)
    if problems:
        raise QuotaExceededError(
            "rules.emergingThreats", "; ".join(problems), "nothing was changed on the firewall"
        )


def emptying_problem(plan: SyncPlan, groups_in_force: int) -> str | None:
    """Why a plan without groups is refused, if it has none.

    No setting asks for an empty plan (an empty ``includeCategories`` means all), so it is
    always a mistake: categories whose rules Network Firewall all refuses, or a new ruleset
    that disabled their rules. Applied, it would remove every ET group in force, or on a first
    run report success while protecting nothing.
    """
    if plan.groups:
        return None
    files = plan.stats["files"]
    selected = (
        f"{files} rules file{'' if files == 1 else 's'} selected, "
        f"{plan.stats['accepted']} rules accepted"
    )
    if groups_in_force:
        verb = "is" if groups_in_force == 1 else "are"
        return (
            f"the plan has no ET rule groups but {groups_in_force} {verb} in force; the "
            f"function refuses it rather than remove every ET rule ({selected})"
        )
    return f"the plan has no ET rule groups; the function refuses it ({selected})"


def check_not_emptying(plan: SyncPlan, groups_in_force: int) -> None:
    problem = emptying_problem(plan, groups_in_force)
    if problem:
        raise EmptyPlanError(
            "rules.emergingThreats",
            problem,
            "choose categories whose rules Network Firewall accepts (see the rejected rules "
            "report); nothing was changed on the firewall",
        )


def check_categories(
    files: Mapping[str, str],
    settings: SyncSettings,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Refuse category names the ruleset does not have (a typo would select nothing).

    ``labels`` maps a setting (``include_categories`` …) to where its value came from, e.g.
    a CLI flag; the stack config key otherwise.
    """
    names = {**CATEGORY_SETTINGS, **(labels or {})}
    known = {normalize_category(name) for name in files}
    chosen = {names[setting]: getattr(settings, setting) for setting in CATEGORY_SETTINGS}
    problems = unknown_category_problems(known, chosen)
    if problems:
        raise CategoryError(
            problems,
            ruleset_categories_text(known),
            "a category is a rules file name without 'emerging-' and '.rules' "
            "(emerging-web_client.rules is web_client)",
        )


def _group_variables(
    group: Any, ip_sets: Mapping[str, Sequence[str]], port_sets: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, dict[str, list[str]]]]:
    """``RuleVariables`` (API shape) holding just the sets this group's rules reference.

    HOME_NET is always declared so that ``$EXTERNAL_NET`` (its negation) resolves inside
    the group instead of falling back to the firewall VPC's CIDR.
    """
    result: dict[str, dict[str, dict[str, list[str]]]] = {}
    ip_names = sorted(set(group.ip_set_refs) | {"HOME_NET"})
    ips = {n: {"Definition": list(ip_sets[n])} for n in ip_names if n in ip_sets}
    ports = {
        n: {"Definition": list(port_sets[n])} for n in sorted(group.port_set_refs) if n in port_sets
    }
    if ips:
        result["IPSets"] = ips
    if ports:
        result["PortSets"] = ports
    return result


def _split(
    accepted: Sequence[ParsedRule],
    settings: SyncSettings,
    current_capacities: Mapping[str, int] | None,
) -> tuple[GroupPlan, list[str]]:
    """Groups with the configured headroom; without headroom if only the headroom breaks
    the policy quota (declared capacity counts against the quota, not the rules)."""
    quotas = settings.quotas
    warnings: list[str] = []
    headroom = quotas.headroom_percent / 100
    while True:
        group_plan = plan_groups(
            accepted,
            group_capacity_max=quotas.group_capacity_max,
            groups_max=quotas.policy_groups,
            policy_capacity_max=quotas.policy_capacity,
            headroom=headroom,
            reserved_capacity=quotas.reserved_capacity,
            reserved_groups=quotas.reserved_groups,
            prefix=f"{settings.rule_group_prefix}-et",
            current=current_capacities,
        )
        if group_plan.ok or headroom == 0:
            return group_plan, warnings
        warnings.append(
            f"{quotas.headroom_percent}% capacity headroom does not fit the quotas; "
            "planning without headroom (groups are replaced when they grow)"
        )
        headroom = 0.0


def build_plan(
    files: Mapping[str, str],
    settings: SyncSettings,
    *,
    version: str,
    strict_order: bool = True,
    current_capacities: Mapping[str, int] | None = None,
    progress: Progress | None = None,
    category_labels: Mapping[str, str] | None = None,
) -> SyncPlan:
    """The groups to deploy for ``files`` (rules file name → text) under ``settings``.

    Raises ``CategoryError`` when a category setting names a category ``files`` lacks;
    ``category_labels`` names where each setting came from (see ``check_categories``).
    """
    check_categories(files, settings, category_labels)
    selection = select_categories(files, settings.include_categories, settings.exclude_categories)
    selected = apply_ids_to_ips(selection.files, settings.ids_to_ips_categories)
    parsed: list[Any] = []  # ParsedRule | ParseFailure
    for done, (name, text) in enumerate(sorted(selected.items()), start=1):
        parsed.extend(parse_rules(text, filename=name))
        if progress:
            progress(done, len(selected), len(parsed))

    used: set[str] = set()
    for rule in parsed:
        used |= header_variables(f"{rule.src} {rule.src_port} {rule.dst} {rule.dst_port}")
    home, ip_sets, port_sets = variable_sets(
        used, settings.home_net, settings.ip_sets, settings.port_sets
    )
    variables = RuleVariables.for_home_net(home, ip_sets=ip_sets, port_sets=port_sets)
    result = validate_rules(parsed, variables=variables, strict_order=strict_order)
    group_plan, warnings = _split(result.accepted, settings, current_capacities)

    category_of_file = {name: normalize_category(name) for name in selected}
    rejected = [
        RejectedRule(
            where=item.where,
            sid=item.sid,
            category=category_of_file.get(item.where.rsplit(":", 1)[0], ""),
            reason=item.reason,
            detail=item.detail,
        )
        for item in result.rejected
    ]
    rejected.extend(
        RejectedRule(
            where=failure.where,
            sid=None,
            category=category_of_file.get(failure.file, ""),
            reason="parse-error",
            detail=failure.problem,
        )
        for failure in result.parse_failures
    )
    capacity_by_category: Counter[str] = Counter()
    revisions: dict[int, int] = {}
    for rule in result.accepted:
        capacity_by_category[category_of_file.get(rule.file, rule.category)] += 1
        if rule.sid is not None:
            revisions[rule.sid] = rule.rev or 0
    groups = tuple(
        DesiredGroup(
            key=group.key,
            name=group.name,
            capacity=group.capacity,
            needed_capacity=group.used,
            rules_string=group.rules_string,
            rule_variables=_group_variables(group, variables.ip_sets, variables.port_sets),
            sids=tuple(group.sids),
            categories=tuple(normalize_category(c) for c in group.categories),
        )
        for group in group_plan.groups
    )
    return SyncPlan(
        version=version,
        groups=groups,
        rejected=tuple(rejected),
        categories=tuple(sorted(set(category_of_file.values()))),
        capacity_by_category=dict(capacity_by_category),
        revisions=revisions,
        stats={
            "files": len(selected),
            "parsed": len(parsed),
            "disabled": len(result.disabled),
            "accepted": len(result.accepted),
            "rejected": len(rejected),
        },
        warnings=tuple(warnings),
        problems=tuple(group_plan.problems),
    )
