"""From ruleset files to the rules of each declared ET group: select, parse, keep only the
feed's alert rules, validate, split into the declared groups, check they fit.

The same code runs in the function and in ``egress-net rules sync --dry-run``. Parsing,
validation, capacity and splitting come from ``egress_net.rules`` (shared with the program
and ``rules check``), so a rule the CLI accepts is a rule the function deploys.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from egress_net.et_sync.apply import DesiredGroup, placeholder_rules
from egress_net.et_sync.errors import CapacityError, CategoryError, EmptyPlanError
from egress_net.et_sync.manifest import RejectedRule
from egress_net.et_sync.select import (
    CATEGORY_SETTINGS,
    FEED_ACTION,
    as_drop,
    header_variables,
    normalize_category,
    ruleset_categories_text,
    select_categories,
    unknown_category_problems,
    variable_sets,
)
from egress_net.et_sync.settings import GroupSlot, SyncSettings
from egress_net.rules import limits
from egress_net.rules.capacity import stable_capacity, with_headroom
from egress_net.rules.parser import ParsedRule, ParseFailure, parse_rules
from egress_net.rules.split import GroupPlan, PlannedGroup, plan_groups
from egress_net.rules.validate import validate_rules
from egress_net.rules.variables import RuleVariables

# progress(files_done, files_total, rules_parsed)
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class CapacityNeed:
    """What the feed needs when it outgrows the declared groups (for the plan record)."""

    groups: int
    group_capacity: int
    total_capacity: int
    suggested_group_capacity: int


@dataclass(frozen=True)
class SyncPlan:
    version: str
    groups: tuple[DesiredGroup, ...]  # one per declared group, placeholders included
    rejected: tuple[RejectedRule, ...]
    categories: tuple[str, ...]
    capacity_by_category: Mapping[str, int]
    stats: Mapping[str, int]
    revisions: Mapping[int, int] = field(default_factory=dict)  # sid -> rev, accepted rules
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())  # why the rules do not fit the groups
    need: CapacityNeed | None = None

    @property
    def filled(self) -> tuple[DesiredGroup, ...]:
        """The groups that hold ET rules (not the placeholder)."""
        return tuple(group for group in self.groups if not group.placeholder)

    @property
    def total_capacity(self) -> int:
        return sum(group.capacity for group in self.groups)

    @property
    def needed_capacity(self) -> int:
        return sum(group.needed_capacity for group in self.filled)

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


def capacity_problems(plan: SyncPlan) -> list[str]:
    """Why the plan's rules do not fit the declared groups (empty when they fit)."""
    return list(plan.problems)


def check_capacity(plan: SyncPlan) -> None:
    problems = capacity_problems(plan)
    if problems:
        raise CapacityError(
            "rules.emergingThreats",
            "; ".join(problems),
            "nothing was changed on the firewall",
        )


def emptying_problem(plan: SyncPlan, groups_in_force: int) -> str | None:
    """Why a plan without groups is refused, if it has none.

    No setting asks for an empty plan (an empty ``includeCategories`` means all), so it is
    always a mistake: categories whose rules Network Firewall all refuses, or a new ruleset
    that disabled their rules. Applied, it would remove every ET group in force, or on a first
    run report success while protecting nothing.
    """
    if plan.filled or plan.problems:  # over capacity is its own outcome
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
    group: PlannedGroup | None,
    ip_sets: Mapping[str, Sequence[str]],
    port_sets: Mapping[str, Sequence[str]],
) -> dict[str, dict[str, dict[str, list[str]]]]:
    """``RuleVariables`` (API shape) holding the sets this group's rules reference.

    HOME_NET is always declared so that ``$EXTERNAL_NET`` (its negation) resolves inside the
    group instead of falling back to the firewall VPC's CIDR; EXTERNAL_NET too when it is
    defined (a TGW-attached firewall has no VPC CIDR, and AWS requires both there).
    """
    result: dict[str, dict[str, dict[str, list[str]]]] = {}
    referenced = set(group.ip_set_refs) if group else set()
    ip_names = sorted(referenced | {"HOME_NET", "EXTERNAL_NET"})
    ips = {n: {"Definition": list(ip_sets[n])} for n in ip_names if n in ip_sets}
    port_refs = group.port_set_refs if group else frozenset()
    ports = {n: {"Definition": list(port_sets[n])} for n in sorted(port_refs) if n in port_sets}
    if ips:
        result["IPSets"] = ips
    if ports:
        result["PortSets"] = ports
    return result


def _fit(accepted: Sequence[ParsedRule], slots: Sequence[GroupSlot], prefix: str) -> GroupPlan:
    """The fewest groups that hold ``accepted`` within the declared groups' capacity."""
    if not slots:
        plan = GroupPlan()
        plan.problems.append("no ET rule groups are declared (rules.emergingThreats.groups)")
        return plan
    capacity = min(slot.capacity for slot in slots)
    return plan_groups(
        accepted,
        group_capacity_max=capacity,
        groups_max=len(slots),
        policy_capacity_max=capacity * len(slots),
        headroom=0.0,
        prefix=prefix,
    )


def capacity_need(accepted: Sequence[ParsedRule], slots: Sequence[GroupSlot]) -> CapacityNeed:
    """The groups and capacity the rules need, to say what to raise in the config."""
    wanted = max(len(slots), 1)
    loose = plan_groups(
        accepted,
        group_capacity_max=limits.GROUP_CAPACITY_MAX,
        groups_max=limits.STATEFUL_GROUPS_PER_POLICY_MAX * 10,
        policy_capacity_max=limits.GROUP_CAPACITY_MAX * wanted * 10,
        headroom=0.0,
    )
    # The same number of groups (only the 2 MB rules string can ask for more), each as big
    # as the biggest the splitter packs when it may use the whole group capacity.
    total = sum(group.used for group in loose.groups)
    groups = max(wanted, len(loose.groups))
    per_group = -(-total // groups)
    biggest = max([per_group, *(group.used for group in loose.groups[:groups])])
    suggested = stable_capacity(
        with_headroom(biggest, 0.1, group_capacity_max=limits.GROUP_CAPACITY_MAX),
        group_capacity_max=limits.GROUP_CAPACITY_MAX,
    )
    return CapacityNeed(
        groups=groups,
        group_capacity=biggest,
        total_capacity=total,
        suggested_group_capacity=suggested,
    )


def _over_capacity_problem(need: CapacityNeed, slots: Sequence[GroupSlot]) -> str:
    capacity = min((slot.capacity for slot in slots), default=0)
    return (
        f"the selected rules need {need.total_capacity} capacity, about {need.groups} groups "
        f"of {need.group_capacity}; {len(slots)} groups of {capacity} are declared. Set "
        f"rules.emergingThreats.groups: {need.groups} and groupCapacity: "
        f"{need.suggested_group_capacity} and run `pulumi up` (the groups are replaced), or "
        "exclude categories; the last applied rules stay in force"
    )


# Keywords that let an alert rule do more than alert, refused in a feed rule with the reason.
# Suricata reads keywords case-insensitively (SigTableGet). Counts are of the 24,827 enabled
# ET Open 2024 rules: none uses any of these, so nothing is lost.
FEED_REFUSED_KEYWORDS: dict[str, str] = {
    # Stops inspecting the rest of the matched flow (Suricata 7.0 rules docs, "Bypass
    # Keyword"; the 8.0 docs add that it "could lead to bypassing the firewall altogether"): in
    # an ET group, ahead of the allow list and the default deny, one ``alert tcp $HOME_NET any
    # -> any any (bypass; ...)`` would open all egress.
    "bypass": "it stops inspecting the flow, which would let it pass ahead of the allow list "
    "and the default deny",
    # ``config: logging disable, type tx, scope tx`` turns off the logging of the matched
    # transaction (Suricata 7.0 rules docs, "Config Rules": eve records "will not be
    # generated"; 8.0 adds ``tracking disable``, no flow tracking): the feed could hide the
    # traffic it matches from the firewall's logs.
    "config": "it turns off logging (or tracking) of the traffic it matches, which would hide "
    "that traffic from the firewall's logs",
    # Rewrites the matched content of the packet in IPS mode (Suricata 7.0 rules docs,
    # "replace": "It adjusts network traffic"): the feed would change what passes, not judge it.
    "replace": "it rewrites the packets it matches, so the feed would change traffic instead "
    "of judging it",
}
# Kept on purpose: ``noalert`` and ``flowbits:noalert`` (335 enabled ET 2024 rules, the idiom of
# a rule that only sets a flowbit for a later rule) silence the rule's own alert and nothing
# else; ``flowbits``/``xbits``/``flowint`` (2,126 / 30 / 8 rules) set state that only rules
# reading the same names see, and none of the program's own rules (allow lists, default deny)
# reads any; ``tag`` (7) logs more, not less.


def feed_refusal(rule: ParsedRule) -> tuple[str, str] | None:
    """``(reason, detail)`` when the feed's ``rule`` must not be deployed, else None."""
    if rule.action != FEED_ACTION:
        return (
            f"feed-action:{rule.action}",
            "only alert rules are taken from the feed (a feed rule must not pass, "
            "drop or reject traffic ahead of the allow list)",
        )
    for name in rule.option_names:
        why = FEED_REFUSED_KEYWORDS.get(name.strip().lower())
        if why is not None:
            keyword = name.strip().lower()
            return (f"feed-keyword:{keyword}", f"a feed rule must not use {keyword!r}: {why}")
    return None


def feed_rules(
    parsed: Sequence[ParsedRule | ParseFailure], to_drop: Sequence[str]
) -> tuple[list[ParsedRule | ParseFailure], list[ParsedRule]]:
    """``(kept, refused)``: the feed may only alert. Its ``pass``, ``drop``, ``reject`` ...
    rules, and alert rules with a keyword that does more than alert (``bypass``, ``config``,
    ``replace``; ``FEED_REFUSED_KEYWORDS``), are refused: ET groups sit
    ahead of the allow list and the default deny, so one ``pass ip $HOME_NET any ->
    $EXTERNAL_NET any`` would open all egress. Alert rules of the ``to_drop`` categories
    become drop here, after the check (idsToIpsCategories)."""
    chosen = {normalize_category(c) for c in to_drop}
    kept: list[ParsedRule | ParseFailure] = []
    refused: list[ParsedRule] = []
    for rule in parsed:
        if isinstance(rule, ParseFailure) or not rule.enabled:
            kept.append(rule)
        elif feed_refusal(rule) is not None:
            refused.append(rule)
        elif chosen and normalize_category(rule.file) in chosen:
            kept.append(as_drop(rule))
        else:
            kept.append(rule)
    return kept, refused


def build_plan(
    files: Mapping[str, str],
    settings: SyncSettings,
    *,
    version: str,
    progress: Progress | None = None,
    category_labels: Mapping[str, str] | None = None,
) -> SyncPlan:
    """The rules for each declared group from ``files`` (rules file name → text).

    Raises ``CategoryError`` when a category setting names a category ``files`` lacks;
    ``category_labels`` names where each setting came from (see ``check_categories``).
    A malformed line is rejected with its file:line, never an exception.
    """
    check_categories(files, settings, category_labels)
    selection = select_categories(files, settings.include_categories, settings.exclude_categories)
    parsed: list[ParsedRule | ParseFailure] = []
    for done, (name, text) in enumerate(sorted(selection.files.items()), start=1):
        parsed.extend(parse_rules(text, filename=name))
        if progress:
            progress(done, len(selection.files), len(parsed))
    warnings: list[str] = []
    if settings.firewall_mode == "alert" and settings.ids_to_ips_categories:
        warnings.append("firewall mode is alert: idsToIpsCategories are not turned into drop")
    parsed, refused = feed_rules(parsed, settings.converts_to_drop)

    used: set[str] = set()
    for rule in parsed:
        if isinstance(rule, ParsedRule):
            used |= header_variables(f"{rule.src} {rule.src_port} {rule.dst} {rule.dst_port}")
    home, ip_sets, port_sets = variable_sets(
        used, settings.home_net, settings.ip_sets, settings.port_sets
    )
    variables = RuleVariables.for_home_net(home, ip_sets=ip_sets, port_sets=port_sets)
    result = validate_rules(parsed, variables=variables, strict_order=True)
    slots = settings.groups
    group_plan = _fit(result.accepted, slots, "et")
    need: CapacityNeed | None = None
    problems = list(group_plan.problems)
    if problems and slots:
        need = capacity_need(result.accepted, slots)
        problems = [_over_capacity_problem(need, slots)]

    category_of_file = {name: normalize_category(name) for name in selection.files}
    rejected: list[RejectedRule] = []
    for rule in refused:
        reason, detail = feed_refusal(rule) or ("", "")  # set for every refused rule
        rejected.append(
            RejectedRule(
                where=rule.where,
                sid=rule.sid,
                category=category_of_file.get(rule.file, ""),
                reason=reason,
                detail=detail,
            )
        )
    rejected += [
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
    planned = group_plan.groups if not problems else []
    groups = tuple(
        _desired(index, slot, planned[index] if index < len(planned) else None, variables)
        for index, slot in enumerate(slots)
    )
    return SyncPlan(
        version=version,
        groups=groups,
        rejected=tuple(rejected),
        categories=tuple(sorted(set(category_of_file.values()))),
        capacity_by_category=dict(capacity_by_category),
        revisions=revisions,
        stats={
            "files": len(selection.files),
            "parsed": len(parsed) + len(refused),
            "disabled": len(result.disabled),
            "accepted": len(result.accepted),
            "rejected": len(rejected),
        },
        warnings=tuple(warnings),
        problems=tuple(problems),
        need=need,
    )


def _desired(
    index: int, slot: GroupSlot, planned: PlannedGroup | None, variables: RuleVariables
) -> DesiredGroup:
    """What declared group ``index`` holds: a planned group's rules, or the placeholder."""
    rule_variables = _group_variables(planned, variables.ip_sets, variables.port_sets)
    if planned is None:
        return DesiredGroup(
            key=slot.name,
            name=slot.name,
            capacity=slot.capacity,
            needed_capacity=1,
            rules_string=placeholder_rules(index),
            rule_variables=rule_variables,
            arn=slot.arn,
            placeholder=True,
        )
    return DesiredGroup(
        key=slot.name,
        name=slot.name,
        capacity=slot.capacity,
        needed_capacity=planned.used,
        rules_string=planned.rules_string,
        rule_variables=rule_variables,
        sids=tuple(planned.sids),
        categories=tuple(normalize_category(c) for c in planned.categories),
        arn=slot.arn,
    )
