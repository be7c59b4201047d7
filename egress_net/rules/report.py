"""``egress-net rules check``: validate rule files and plan groups, as a readable report.

Exit code policy: rejected rules are left out of the plan, exactly as a deploy with
``rejectedRules: skip`` would do, so by default the check fails (exit 1) only when a deploy
with ``skip`` would fail too: the *plan* cannot deploy (too many groups, capacity over the
policy quota, a flowbit cluster too big for a group), or a line is malformed, or a rule is
scoped to sources a firewall behind NAT never sees (both stop a deploy in either mode).
``strict=True`` also fails on any rejected rule, matching the program's default
``rejectedRules: fail``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from egress_net.errors import RuleError
from egress_net.rules import limits
from egress_net.rules.capacity import stable_capacity
from egress_net.rules.parser import ParsedRule, ParseFailure, parse_rules, rule_files
from egress_net.rules.split import GroupPlan, PlannedGroup, group_name, plan_groups
from egress_net.rules.validate import ValidationResult, validate_rules
from egress_net.rules.variables import RuleVariables

if TYPE_CHECKING:  # the rules layer runs in the sync function too: no import at run time
    from egress_net.naming import StackNames


@dataclass
class FileCounts:
    accepted: int = 0
    rejected: int = 0
    disabled: int = 0
    malformed: int = 0


@dataclass
class CheckReport:
    files: dict[str, FileCounts] = field(default_factory=dict)
    validation: ValidationResult = field(default_factory=ValidationResult)
    plan: GroupPlan = field(default_factory=GroupPlan)
    strict: bool = False
    groups_max: int = limits.STATEFUL_GROUPS_PER_POLICY_MAX
    policy_capacity_max: int = limits.STATEFUL_POLICY_CAPACITY_MAX
    group_capacity_max: int = limits.GROUP_CAPACITY_MAX
    # The stack whose deploy names the groups (project and stack are in the name); None shows
    # the rules layer's names, which a deploy prefixes with them.
    names: StackNames | None = None

    def deployed_as(self, group: PlannedGroup) -> tuple[str, int]:
        """The name and capacity a deploy gives this group when it is new: the capacity is
        rounded to a stable step so that a few more rules later keep the same group."""
        capacity = stable_capacity(group.capacity, group_capacity_max=self.group_capacity_max)
        name = group_name(group.key, capacity)
        return (self.names.rule_group(name) if self.names else name), capacity

    @property
    def deployed_capacity(self) -> int:
        return sum(self.deployed_as(g)[1] for g in self.plan.groups)

    @property
    def problems(self) -> list[str]:
        """Why the plan cannot deploy; a deploy checks the policy quota on deployed capacity."""
        if not self.plan.ok or self.deployed_capacity <= self.policy_capacity_max:
            return list(self.plan.problems)
        return [
            f"the groups take {self.deployed_capacity} stateful capacity as deployed "
            f"(rounded to stable steps); the policy limit is {self.policy_capacity_max}"
        ]

    @property
    def deployable(self) -> bool:
        return not self.problems

    @property
    def stoppers(self) -> list[str]:
        """``file:line: problem`` of what stops a deploy even with ``rejectedRules: skip``."""
        return [f"{w}: {p}" for w, p in self.validation.deploy_failures(skip_rejected=True)]

    @property
    def exit_code(self) -> int:
        if not self.deployable or self.stoppers:
            return 1
        if self.strict and not self.validation.ok:
            return 1
        return 0


def _file_of(where: str) -> str:
    return where.rsplit(":", 1)[0]


def _read(paths: Iterable[str | Path]) -> list[ParsedRule | ParseFailure]:
    parsed: list[ParsedRule | ParseFailure] = []
    for raw in paths:
        if not Path(raw).exists():
            raise RuleError(
                str(raw),
                "no such file or directory",
                "give .rules files or directories that hold them",
            )
    files = rule_files(paths)
    if not files:
        raise RuleError(", ".join(str(p) for p in paths), "no .rules files found")
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise RuleError(str(path), f"cannot read the file: {err}") from None
        parsed.extend(parse_rules(text, filename=str(path)))
    return parsed


def check_paths(
    paths: Iterable[str | Path],
    *,
    variables: RuleVariables,
    strict: bool = False,
    headroom: float = 0.2,
    group_capacity_max: int = limits.GROUP_CAPACITY_MAX,
    groups_max: int = limits.STATEFUL_GROUPS_PER_POLICY_MAX,
    policy_capacity_max: int = limits.STATEFUL_POLICY_CAPACITY_MAX,
    firewall_sees_nat_only: bool = False,
    names: StackNames | None = None,
) -> CheckReport:
    """Parse, validate and split the rules under ``paths`` the way a deploy would."""
    paths = list(paths)
    parsed = _read(paths)
    validation = validate_rules(
        parsed,
        variables=variables,
        strict_order=True,
        firewall_sees_nat_only=firewall_sees_nat_only,
    )
    plan = plan_groups(
        validation.accepted,
        group_capacity_max=group_capacity_max,
        groups_max=groups_max,
        policy_capacity_max=policy_capacity_max,
        headroom=headroom,
    )
    report = CheckReport(
        validation=validation,
        plan=plan,
        strict=strict,
        groups_max=groups_max,
        policy_capacity_max=policy_capacity_max,
        group_capacity_max=group_capacity_max,
        names=names,
    )
    files: dict[str, FileCounts] = defaultdict(FileCounts)
    for path in rule_files(paths):
        files[str(path)]  # every file gets a row, even an empty one
    for rule in validation.accepted:
        files[rule.file].accepted += 1
    for rule in validation.disabled:
        files[rule.file].disabled += 1
    for rejection in validation.rejected:
        files[_file_of(rejection.where)].rejected += 1
    for failure in validation.parse_failures:
        files[failure.file].malformed += 1
    report.files = dict(files)
    return report


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        first = f"{cells[0]:<{widths[0]}}"
        rest = [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  " + "  ".join([first, *rest])

    return [line(headers), *(line([str(c) for c in row]) for row in rows)]


def render_report(report: CheckReport, *, examples: int = 3) -> str:
    """The report as text: per-file counts, rejects by reason, groups, totals, verdict."""
    out: list[str] = ["Files"]
    rows = []
    total = FileCounts()
    for name, counts in sorted(report.files.items()):
        rows.append(
            [
                Path(name).name,
                str(counts.accepted),
                str(counts.rejected),
                str(counts.disabled),
                str(counts.malformed),
            ]
        )
        total.accepted += counts.accepted
        total.rejected += counts.rejected
        total.disabled += counts.disabled
        total.malformed += counts.malformed
    rows.append(
        [
            "total",
            str(total.accepted),
            str(total.rejected),
            str(total.disabled),
            str(total.malformed),
        ]
    )
    out += _table(["file", "accepted", "rejected", "disabled", "malformed"], rows)

    validation = report.validation
    by_reason: dict[str, list[str]] = defaultdict(list)
    for rejection in validation.rejected:
        if len(by_reason[rejection.reason]) < examples:
            by_reason[rejection.reason].append(
                f"{rejection.where} sid {rejection.sid}: {rejection.detail}"
            )
    for failure in validation.parse_failures:
        if len(by_reason[limits.R_MALFORMED]) < examples:
            by_reason[limits.R_MALFORMED].append(f"{failure.where}: {failure.problem}")
    out.append("")
    out.append("Rejected by reason" if by_reason else "Rejected by reason: none")
    for reason, count in validation.counts_by_reason().items():
        out.append(f"  {reason}: {count}")
        out += [f"    e.g. {example}" for example in by_reason[reason]]

    warnings = Counter(w.reason for w in validation.warnings)
    if warnings:
        out.append("")
        out.append("Warnings")
        for reason, count in warnings.most_common():
            out.append(f"  {reason}: {count}")
            out += [
                f"    e.g. {w.where} sid {w.sid}: {w.detail}"
                for w in validation.warnings
                if w.reason == reason
            ][:examples]

    plan = report.plan
    out.append("")
    if report.names is not None:
        out.append(
            f"Planned rule groups (named and sized as a deploy of stack "
            f"{report.names.stack} creates them)"
        )
    else:
        out.append(
            "Planned rule groups (sized as a deploy creates them; a deploy names them "
            "<project>-<stack>-<name>: --stack STACK shows the exact names)"
        )
    rows = []
    for g in plan.groups:
        name, capacity = report.deployed_as(g)
        cells = [name, str(capacity), str(g.capacity), str(g.rule_count), str(g.rules_bytes)]
        rows.append([*cells, str(len(g.categories))])
    out += _table(["name", "capacity", "needed", "rules", "bytes", "categories"], rows)
    out.append("")
    deployed = report.deployed_capacity
    out.append(
        f"Policy totals: {len(plan.groups)} of {report.groups_max} stateful groups, "
        f"capacity {plan.total_capacity} of {report.policy_capacity_max} "
        f"({deployed} as deployed)"
    )
    stoppers = report.stoppers
    if report.problems or stoppers:
        out.append("Result: the plan cannot deploy")
        out += [f"  - {problem}" for problem in report.problems]
        if stoppers:
            more = f" (first 5 of {len(stoppers)})" if len(stoppers) > 5 else ""
            out.append(f"  - lines that stop a deploy even with rejectedRules: skip{more}:")
            out += [f"      {line}" for line in stoppers[:5]]
    elif report.exit_code:
        out.append("Result: the plan deploys, but --strict fails on the rejected rules")
    else:
        rejected = len(validation.rejected) + len(validation.parse_failures)
        note = f" ({rejected} rejected rules left out)" if rejected else ""
        out.append(f"Result: the plan deploys{note}")
    return "\n".join(out)
