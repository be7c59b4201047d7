"""Split accepted Suricata rules into as few rule groups as fit, and plan capacity changes.

Decisions, in order of priority:

1. Every group fits Network Firewall's limits: capacity (with headroom), the 2 MB rules
   string, and 5 IP-set references.
2. Fewest groups. The lower bound is ``ceil(units / fill limit)``.
3. By category (the ``.rules`` file) where that costs no extra group: whole categories are
   packed first-fit-decreasing; if that needs more groups than the lower bound, categories
   are laid end to end and cut only where a group is full.
4. Rules linked by flowbits (a setter and the rules that check it) form one unit and are
   never split across groups, since a flowbit set in one group is invisible to another.

Rule order inside a group is the input order (strict order evaluates rules as written).
Capacity is fixed when a group is created, so a group's *name* carries its capacity: a group
that must grow gets a new name, is created next to the old one, the policy switches to it,
and only then is the old one deleted (``replacement_plan``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from egress_net.rules import limits
from egress_net.rules.capacity import fill_limit, suricata_capacity, with_headroom
from egress_net.rules.parser import ParsedRule, category_of, cyclic_gc_paused
from egress_net.rules.validate import Finding, flowbit_usage, missing_flowbit_setters
from egress_net.rules.variables import REFERENCE_RE, VARIABLE_RE

NAME_MAX = 128  # Network Firewall rule group names: 1-128 of [A-Za-z0-9-]
_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class PlannedGroup:
    """One stateful rule group to declare."""

    key: str
    name: str
    capacity: int
    used: int
    rule_count: int
    sids: tuple[int, ...]
    categories: tuple[str, ...]
    rules_string: str
    rules_bytes: int
    ip_set_refs: frozenset[str]
    port_set_refs: frozenset[str]
    prefix_list_refs: frozenset[str]


@dataclass
class GroupPlan:
    groups: list[PlannedGroup] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def total_capacity(self) -> int:
        return sum(group.capacity for group in self.groups)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class GroupChange:
    """What happens to one group key. ``replace`` = create new, switch policy, delete old."""

    key: str
    action: str
    old_name: str | None
    new_name: str | None
    old_capacity: int | None
    new_capacity: int | None


@dataclass(slots=True)
class _Unit:
    """Rules that must stay in one group (a flowbit cluster, or a single rule)."""

    indices: list[int]
    category: str
    size: int = 0
    nbytes: int = 0
    refs: frozenset[str] = frozenset()


def utf8_length(text: str) -> int:
    """Bytes in UTF-8 without encoding ASCII text (nearly every rule) just to count it."""
    return len(text) if text.isascii() else len(text.encode())


def slug(text: str) -> str:
    return _SLUG_RE.sub("-", text.lower()).strip("-") or "rules"


def group_name(key: str, capacity: int) -> str:
    """The deployed name: the key plus the capacity, so a new capacity is a new group."""
    return f"{key}-c{capacity}"


def _bounded_key(key: str) -> str:
    # Leave room for "-c30000" and stay within the name limit.
    room = NAME_MAX - 8
    if len(key) <= room:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{key[: room - 9]}-{digest}"


def _flowbit_clusters(rules: Sequence[ParsedRule]) -> dict[int, list[int]]:
    """Rules linked by flowbits, by the index of their first rule (union-find)."""
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner_of_bit: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if "flowbits" not in rule.text:
            continue
        parent[index] = index
        sets, checks = flowbit_usage(rule)
        for bit in sets | checks:
            other = owner_of_bit.setdefault(bit, index)
            root_a, root_b = find(index), find(other)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
    clusters: dict[int, list[int]] = {}
    for index in parent:
        clusters.setdefault(find(index), []).append(index)
    return clusters


def _build_units(rules: Sequence[ParsedRule]) -> list[_Unit]:
    clusters = _flowbit_clusters(rules)
    no_refs: frozenset[str] = frozenset()
    units = []
    for index, rule in enumerate(rules):
        indices = clusters.get(index)
        if indices is None:
            if "flowbits" in rule.text:
                continue  # a member of a cluster whose first rule came earlier
            indices = [index]
        refs: set[str] = set()
        nbytes = 0
        for i in indices:
            member = rules[i]
            nbytes += utf8_length(member.text) + 1
            if "@" in member.src or "@" in member.dst:
                refs.update(REFERENCE_RE.findall(member.src + " " + member.dst))
        units.append(
            _Unit(
                indices,
                category_of(rule.file),
                suricata_capacity(len(indices)),
                nbytes,
                frozenset(refs) if refs else no_refs,
            )
        )
    return units


@dataclass
class _Bin:
    units: list[_Unit] = field(default_factory=list)
    size: int = 0
    nbytes: int = 0
    refs: frozenset[str] = frozenset()


def _by_category(units: list[_Unit]) -> dict[str, list[_Unit]]:
    grouped: dict[str, list[_Unit]] = {}
    for unit in units:
        grouped.setdefault(unit.category, []).append(unit)
    return dict(sorted(grouped.items()))


def _whole(members: list[_Unit]) -> _Bin:
    """A bin holding a whole category (totals summed, not unit by unit)."""
    refs: frozenset[str] = frozenset().union(*(u.refs for u in members if u.refs))
    return _Bin(list(members), sum(u.size for u in members), sum(u.nbytes for u in members), refs)


def _pack_whole_categories(grouped: dict[str, list[_Unit]], limit: int) -> list[_Bin] | None:
    """First-fit decreasing over whole categories; None if some category cannot fit whole."""
    categories = [_whole(members) for members in grouped.values()]
    if not all(_fits_bin(_Bin(), category, limit) for category in categories):
        return None
    bins: list[_Bin] = []
    for category in sorted(categories, key=lambda b: -b.size):
        target = next((b for b in bins if _fits_bin(b, category, limit)), None)
        if target is None:
            bins.append(category)
            continue
        target.units.extend(category.units)
        target.size += category.size
        target.nbytes += category.nbytes
        target.refs = target.refs | category.refs
    return bins


def _fits_bin(target: _Bin, other: _Bin, limit: int) -> bool:
    return (
        target.size + other.size <= limit
        and target.nbytes + other.nbytes <= limits.RULES_STRING_BYTES_MAX
        and len(target.refs | other.refs) <= limits.IP_SET_REFERENCES_PER_GROUP_MAX
    )


def _pack_in_category_order(grouped: dict[str, list[_Unit]], limit: int) -> list[_Bin]:
    """Categories end to end; start a new group only when the current one is full."""
    bins: list[_Bin] = [_Bin()]
    bytes_max = limits.RULES_STRING_BYTES_MAX
    refs_max = limits.IP_SET_REFERENCES_PER_GROUP_MAX
    current = bins[0]
    for members in grouped.values():
        for unit in members:
            full = (
                current.size + unit.size > limit
                or current.nbytes + unit.nbytes > bytes_max
                or (unit.refs and len(current.refs | unit.refs) > refs_max)
            )
            if full and current.units:
                current = _Bin()
                bins.append(current)
            current.units.append(unit)
            current.size += unit.size
            current.nbytes += unit.nbytes
            if unit.refs:
                current.refs = current.refs | unit.refs
    return [b for b in bins if b.units]


def _keys_for(bins: list[_Bin], prefix: str) -> list[str]:
    cats_per_bin = [list(dict.fromkeys(u.category for u in b.units)) for b in bins]
    bins_per_cat: dict[str, int] = {}
    for cats in cats_per_bin:
        for cat in cats:
            bins_per_cat[cat] = bins_per_cat.get(cat, 0) + 1
    seen: dict[str, int] = {}
    keys = []
    for cats in cats_per_bin:
        first = slug(cats[0])
        if len(cats) == 1 and bins_per_cat[cats[0]] == 1:
            key = f"{prefix}-{first}"
        elif len(cats) == 1:
            seen[first] = seen.get(first, 0) + 1
            key = f"{prefix}-{first}-{seen[first]}"
        else:
            key = f"{prefix}-{first}-and-{len(cats) - 1}-more"
        while key in keys:
            key += "-x"
        keys.append(_bounded_key(key))
    return keys


def plan_groups(
    rules: Sequence[ParsedRule],
    *,
    group_capacity_max: int = limits.GROUP_CAPACITY_MAX,
    groups_max: int = limits.STATEFUL_GROUPS_PER_POLICY_MAX,
    policy_capacity_max: int = limits.STATEFUL_POLICY_CAPACITY_MAX,
    headroom: float = 0.2,
    reserved_capacity: int = 0,
    reserved_groups: int = 0,
    prefix: str = "egress-suricata",
    current: Mapping[str, int] | None = None,
) -> GroupPlan:
    """Plan the fewest rule groups that hold ``rules`` (already validated and accepted).

    ``reserved_capacity``/``reserved_groups`` are what the rest of the policy already uses
    (domain lists, 5-tuple rules, managed groups). ``current`` maps a group key to the
    capacity it was deployed with: a group whose rules still fit keeps that capacity (and
    name) and is updated in place.
    """
    with cyclic_gc_paused():
        return _plan(
            rules,
            group_capacity_max,
            groups_max,
            policy_capacity_max,
            headroom,
            reserved_capacity,
            reserved_groups,
            prefix,
            current or {},
        )


def _plan(
    rules: Sequence[ParsedRule],
    group_capacity_max: int,
    groups_max: int,
    policy_capacity_max: int,
    headroom: float,
    reserved_capacity: int,
    reserved_groups: int,
    prefix: str,
    current: Mapping[str, int],
) -> GroupPlan:
    plan = GroupPlan()
    if not rules:
        return plan
    limit = fill_limit(headroom, group_capacity_max)
    units = _build_units(rules)
    for unit in units:
        if unit.size > limit or unit.nbytes > limits.RULES_STRING_BYTES_MAX:
            first = rules[unit.indices[0]]
            plan.problems.append(
                f"{first.where}: {unit.size} rules linked by flowbits must share one group "
                f"but a group holds at most {limit} with {headroom:.0%} headroom"
            )
            return plan
    total = sum(u.size for u in units)
    total_bytes = sum(u.nbytes for u in units)
    lower_bound = max(
        math.ceil(total / limit), math.ceil(total_bytes / limits.RULES_STRING_BYTES_MAX)
    )
    grouped = _by_category(units)
    bins = _pack_whole_categories(grouped, limit)
    if bins is None or len(bins) > lower_bound:
        in_order = _pack_in_category_order(grouped, limit)
        if bins is None or len(in_order) < len(bins):
            bins = in_order
    for key, packed in zip(_keys_for(bins, prefix), bins, strict=True):
        indices = sorted(i for unit in packed.units for i in unit.indices)
        members = [rules[i] for i in indices]
        used = suricata_capacity(len(members))
        deployed = current.get(key)
        if deployed is not None and deployed >= used:
            capacity = deployed
        else:
            capacity = with_headroom(used, headroom, group_capacity_max=group_capacity_max)
        rules_string = "\n".join(rule.text for rule in members) + "\n"
        # A ruleset repeats a few header fields thousands of times: scan each once.
        addresses = {field for rule in members for field in (rule.src, rule.dst)}
        ports = {field for rule in members for field in (rule.src_port, rule.dst_port)}
        ip_refs = {name for text in addresses if "$" in text for name in VARIABLE_RE.findall(text)}
        port_refs = {name for text in ports if "$" in text for name in VARIABLE_RE.findall(text)}
        plan.groups.append(
            PlannedGroup(
                key=key,
                name=group_name(key, capacity),
                capacity=capacity,
                used=used,
                rule_count=len(members),
                sids=tuple(rule.sid for rule in members if rule.sid is not None),
                categories=tuple(dict.fromkeys(rule.category for rule in members)),
                rules_string=rules_string,
                rules_bytes=utf8_length(rules_string),
                ip_set_refs=frozenset(ip_refs),
                port_set_refs=frozenset(port_refs),
                prefix_list_refs=packed.refs,
            )
        )
    plan.problems.extend(
        policy_problems(
            group_count=len(plan.groups) + reserved_groups,
            capacity=plan.total_capacity + reserved_capacity,
            groups_max=groups_max,
            policy_capacity_max=policy_capacity_max,
        )
    )
    plan.warnings.extend(_split_flowbit_warnings(plan, rules))
    return plan


def policy_problems(
    *, group_count: int, capacity: int, groups_max: int, policy_capacity_max: int
) -> list[str]:
    """What stops a policy with these totals from deploying (empty if it fits)."""
    problems = []
    if group_count > groups_max:
        problems.append(
            f"the policy needs {group_count} stateful rule groups; the limit is {groups_max} "
            "(drop rule files, or raise the quota and groupsMax)"
        )
    if capacity > policy_capacity_max:
        problems.append(
            f"the policy needs {capacity} stateful capacity; the limit is "
            f"{policy_capacity_max} (drop rules, lower headroom, or raise the quota and "
            "policyCapacityMax)"
        )
    return problems


def _split_flowbit_warnings(plan: GroupPlan, rules: Sequence[ParsedRule]) -> list[Finding]:
    # Units keep flowbits together, so a checker can only lack a setter in its group if no
    # accepted rule sets the bit at all; reported once per group for clarity.
    by_sid = {rule.sid: rule for rule in rules if "flowbits" in rule.text}
    findings: list[Finding] = []
    for group in plan.groups:
        members = [by_sid[sid] for sid in group.sids if sid in by_sid]
        findings.extend(missing_flowbit_setters(members))
    return findings


def replacement_plan(current: Mapping[str, int], plan: GroupPlan) -> list[GroupChange]:
    """How to get from the deployed groups (key -> capacity) to ``plan``, never failing.

    A group's capacity cannot change after creation. If its rules still fit the deployed
    capacity it is updated in place; if it must grow it is *replaced*: the new group (new
    name, bigger capacity) is created, the policy is switched to it, then the old one is
    deleted. Returned in that safe order: creates and replacements, updates, deletes.
    """
    changes: list[GroupChange] = []
    planned = {group.key: group for group in plan.groups}
    for key, group in planned.items():
        old = current.get(key)
        if old is None:
            changes.append(GroupChange(key, "create", None, group.name, None, group.capacity))
        elif old >= group.used:
            changes.append(
                GroupChange(key, "update", group_name(key, old), group_name(key, old), old, old)
            )
        else:
            changes.append(
                GroupChange(key, "replace", group_name(key, old), group.name, old, group.capacity)
            )
    for key, old in current.items():
        if key not in planned:
            changes.append(GroupChange(key, "delete", group_name(key, old), None, old, None))
    order = {"create": 0, "replace": 1, "update": 2, "delete": 3}
    return sorted(changes, key=lambda change: (order[change.action], change.key))
