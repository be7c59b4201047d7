"""Validate parsed rules against what Network Firewall accepts at deploy time.

Pure and stdlib only. Each rule is rejected at most once, under the first failing check in
this order: action, protocol, keywords (in option order: unknown to Suricata 7.0, then
unsupported by Network Firewall), pcre, priority, sid, variables,
IP-set references, NAT visibility, length, duplicate sid. Later reasons for the same rule are
kept in ``Rejection.other_reasons`` so a user sees everything to fix at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from egress_net.rules import limits
from egress_net.rules.keywords import SURICATA_7_KEYWORDS, is_known_keyword
from egress_net.rules.parser import Header, ParsedRule, ParseFailure, cyclic_gc_paused
from egress_net.rules.variables import REFERENCE_RE, VARIABLE_RE, RuleVariables

FLOWBIT_SETTERS = frozenset({"set", "unset", "toggle"})
FLOWBIT_CHECKERS = frozenset({"isset", "isnotset"})

# Sources a firewall placed after the NAT gateway can still meaningfully match on.
_NAT_VISIBLE_SOURCES = frozenset(
    {"any", "$EXTERNAL_NET", "!$EXTERNAL_NET", "$HOME_NET", "!$HOME_NET"}
)

# Options that can make a rule fail; a rule with none of them skips the detailed loop.
_TRIGGERS = frozenset(limits.UNSUPPORTED_KEYWORDS) | {"pcre", "priority", "xbits", "tag"}
# Options the detailed loop looks at.
_WATCHED = _TRIGGERS | limits.PCRE_ANCHORS


@dataclass(frozen=True, slots=True)
class Rejection:
    """A rule Network Firewall would refuse, and why. ``reason`` is a stable code."""

    reason: str
    detail: str
    where: str
    sid: int | None
    other_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A warning: the rule deploys, but probably does not do what its author meant."""

    reason: str
    detail: str
    where: str
    sid: int | None


@dataclass
class ValidationResult:
    accepted: list[ParsedRule] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    disabled: list[ParsedRule] = field(default_factory=list)
    parse_failures: list[ParseFailure] = field(default_factory=list)

    def counts_by_reason(self) -> dict[str, int]:
        """Rejections (including malformed lines) per reason code, most common first."""
        counts = Counter(r.reason for r in self.rejected)
        if self.parse_failures:
            counts[limits.R_MALFORMED] += len(self.parse_failures)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.parse_failures

    def deploy_failures(self, *, skip_rejected: bool) -> list[tuple[str, str]]:
        """``(where, problem)`` of what stops a deploy: malformed lines and source-scoped
        rules behind NAT always, every other rejection unless ``rejectedRules: skip``."""
        malformed = [(f.where, f"{limits.R_MALFORMED}: {f.problem}") for f in self.parse_failures]
        stopping = [r for r in self.rejected if not skip_rejected or r.reason == limits.R_NAT_SCOPE]
        return malformed + [(r.where, f"{r.reason} (sid {r.sid}): {r.detail}") for r in stopping]


def flowbit_names(value: str | None) -> tuple[str, list[str]]:
    """``"isset,a|b"`` -> ``("isset", ["a", "b"])``; ``"noalert"`` -> ``("noalert", [])``."""
    if not value:
        return "", []
    command, _, names = value.partition(",")
    if not names:
        return command.strip(), []
    parts = names.replace("&", "|").split("|")
    return command.strip(), [part.strip() for part in parts if part.strip()]


Problem = tuple[str, str]


def _keyword_problems(rule: ParsedRule, strict_order: bool) -> list[Problem]:
    problems: list[Problem] = []
    names = rule.option_names
    all_known = SURICATA_7_KEYWORDS.issuperset(names)
    if not all_known:
        # Suricata reads keywords in any case: check "Threshold" as "threshold".
        names = tuple(name.lower() for name in names)
    if rule.protocol == "http2" and any(name.startswith(("http.", "http_")) for name in names):
        problems.append((limits.R_HTTP2_OVERLOAD, "HTTP/1 keywords on an http2 rule"))
    if not all_known:
        for name in names:
            if not is_known_keyword(name) and name not in limits.UNSUPPORTED_KEYWORDS:
                problems.append(
                    (
                        f"{limits.R_UNKNOWN_KEYWORD}:{name}",
                        f"{name!r} is not a Suricata 7.0 keyword; Network Firewall refuses the "
                        "whole rule group (check the spelling)",
                    )
                )
    if _TRIGGERS.isdisjoint(names):
        return problems
    has_pcre = False
    anchored = False
    unsupported = limits.UNSUPPORTED_KEYWORDS
    for index, name in enumerate(names):
        if name not in _WATCHED:
            continue
        if name in unsupported:
            problems.append(
                (f"{limits.R_KEYWORD}:{name}", f"'{name}' is not supported ({unsupported[name]})")
            )
        elif name == "pcre":
            has_pcre = True
        elif name in limits.PCRE_ANCHORS:
            anchored = True
        elif name == "priority" and strict_order:
            problems.append(
                (
                    limits.R_PRIORITY,
                    "'priority' is not allowed in a strict-order rule group; "
                    "rule order is the file order",
                )
            )
        elif name == "xbits":
            # Values are split out on first use; only these two keywords need one here.
            value = rule.options[index][1]
            if value and "track ip_" in value:
                problems.append(
                    (limits.R_XBITS_IP, "xbits tracked by IP (track ip_src/ip_dst/ip_pair)")
                )
        elif name == "tag":
            value = rule.options[index][1]
            if value and value.split(",")[0].strip() == "host":
                problems.append((limits.R_TAG_HOST, "'tag:host' is not supported"))
    if has_pcre and not anchored:
        problems.append(
            (
                limits.R_PCRE,
                "pcre needs a content, tls.sni, http.host or dns.query match in the same rule",
            )
        )
    return problems


def _sid_problems(rule: ParsedRule) -> list[Problem]:
    sid = rule.sid
    if sid is None:
        if rule.has_option("sid"):
            return [(limits.R_SID_INVALID, "sid must be a positive integer")]
        return [(limits.R_SID_MISSING, "every rule needs a sid")]
    if sid < 1:
        return [(limits.R_SID_INVALID, "sid must be a positive integer")]
    return []


def _address_facts(text: str, variables: RuleVariables) -> tuple[list[Problem], int, frozenset]:
    """(undefined-variable problems, length added by expansion, @references) of a field."""
    problems: list[Problem] = []
    delta = 0
    if "$" in text:
        for name in VARIABLE_RE.findall(text):
            if variables.has_ip_set(name):
                delta += len(variables.ip_set_text(name)) - len(name) - 1
            else:
                problems.append(
                    (limits.R_UNDEFINED_VARIABLE, f"IP set variable ${name} is not defined")
                )
    refs: frozenset[str] = frozenset()
    if "@" in text:
        refs = frozenset(REFERENCE_RE.findall(text))
        for name in sorted(refs - set(variables.references)):
            problems.append(
                (limits.R_UNDEFINED_VARIABLE, f"IP set reference @{name} is not defined")
            )
    return problems, delta, refs


def _port_facts(text: str, variables: RuleVariables) -> tuple[list[Problem], int]:
    """(undefined-variable problems, length added by expansion) of a port field."""
    problems: list[Problem] = []
    delta = 0
    if "$" in text:
        for name in VARIABLE_RE.findall(text):
            if variables.has_port_set(name):
                delta += len(variables.port_set_text(name)) - len(name) - 1
            else:
                problems.append(
                    (limits.R_UNDEFINED_VARIABLE, f"port set variable ${name} is not defined")
                )
    return problems, delta


def nat_scope_problem(source: str, direction: str, destination: str) -> str | None:
    """Why a rule cannot match when the firewall only sees NAT addresses, or None."""
    sides = [source] if direction == "->" else [source, destination]
    for side in sides:
        if side not in _NAT_VISIBLE_SOURCES:
            return (
                f"source {side!r} names addresses the firewall never sees: it sits after the "
                "NAT gateway, so every flow arrives from a NAT address; scope the rule with "
                "any, $HOME_NET or $EXTERNAL_NET"
            )
    return None


@dataclass(frozen=True, slots=True)
class _HeaderChecks:
    """What a rule's header alone decides; a ruleset repeats each header many times.

    A rule's problems are ``before``, then its keyword and sid problems, then ``after``
    (the order ``Rejection.reason`` and ``other_reasons`` report them in). ``growth`` is
    what variable expansion adds to the rule's length.
    """

    before: tuple[Problem, ...]
    after: tuple[Problem, ...]
    growth: int
    # Nothing in the header stops the rule, and keyword checks need no protocol context.
    clean: bool


def _header_checks(header: Header, variables: RuleVariables, nat_only: bool) -> _HeaderChecks:
    action, protocol, src, src_port, direction, dst, dst_port = header
    before: list[Problem] = []
    if action not in limits.SUPPORTED_ACTIONS:
        before.append(
            (
                f"{limits.R_ACTION}:{action}",
                f"action {action!r}; Network Firewall accepts pass, drop, reject, alert",
            )
        )
    if protocol in limits.UNSUPPORTED_PROTOCOLS:
        before.append(
            (
                f"{limits.R_PROTOCOL}:{protocol}",
                f"protocol {protocol!r} ({limits.UNSUPPORTED_PROTOCOLS[protocol]}) "
                "is not supported",
            )
        )
    src_problems, src_delta, src_refs = _address_facts(src, variables)
    dst_problems, dst_delta, dst_refs = _address_facts(dst, variables)
    sport_problems, sport_delta = _port_facts(src_port, variables)
    dport_problems, dport_delta = _port_facts(dst_port, variables)
    after = src_problems + dst_problems + sport_problems + dport_problems
    refs = src_refs | dst_refs
    if len(refs) > limits.IP_SET_REFERENCES_PER_GROUP_MAX:
        after.append(
            (
                limits.R_TOO_MANY_REFERENCES,
                f"{len(refs)} IP set references; a rule group allows "
                f"{limits.IP_SET_REFERENCES_PER_GROUP_MAX}",
            )
        )
    if nat_only:
        why = nat_scope_problem(src, direction, dst)
        if why:
            after.append((limits.R_NAT_SCOPE, why))
    return _HeaderChecks(
        before=tuple(before),
        after=tuple(after),
        growth=src_delta + dst_delta + sport_delta + dport_delta,
        clean=not before and not after and protocol != "http2",
    )


def _rule_problems(rule: ParsedRule, checks: _HeaderChecks, strict_order: bool) -> list[Problem]:
    problems = [
        *checks.before,
        *_keyword_problems(rule, strict_order),
        *_sid_problems(rule),
        *checks.after,
    ]
    if not problems:
        length = len(rule.text) + checks.growth
        if length > limits.RULE_LENGTH_MAX:
            problems.append(
                (
                    limits.R_TOO_LONG,
                    f"{length} characters after variable expansion; the limit is "
                    f"{limits.RULE_LENGTH_MAX}",
                )
            )
    return problems


def validate_rules(
    rules: Iterable[ParsedRule | ParseFailure],
    *,
    variables: RuleVariables,
    strict_order: bool = True,
    firewall_sees_nat_only: bool = False,
) -> ValidationResult:
    """Split rules into accepted and rejected (with reasons); disabled rules are set aside.

    A sid may appear once among the accepted rules: the first one wins and later ones are
    rejected, pointing at the first. Flowbit checks whose setter is in no accepted rule are
    warnings (the rule deploys but can never match).
    """
    with cyclic_gc_paused():
        return _validate(rules, variables, strict_order, firewall_sees_nat_only)


def _validate(
    rules: Iterable[ParsedRule | ParseFailure],
    variables: RuleVariables,
    strict_order: bool,
    firewall_sees_nat_only: bool,
) -> ValidationResult:
    result = ValidationResult()
    first_by_sid: dict[int, ParsedRule] = {}
    header_checks: dict[Header, _HeaderChecks] = {}
    accepted = result.accepted
    length_max = limits.RULE_LENGTH_MAX
    triggers_absent = _TRIGGERS.isdisjoint
    all_known = SURICATA_7_KEYWORDS.issuperset
    for rule in rules:
        if isinstance(rule, ParseFailure):
            result.parse_failures.append(rule)
            continue
        if not rule.enabled:
            result.disabled.append(rule)
            continue
        checks = header_checks.get(rule.header)
        if checks is None:
            checks = header_checks[rule.header] = _header_checks(
                rule.header, variables, firewall_sees_nat_only
            )
        sid = rule.sid
        # The common case, decided without building a problem list.
        if (
            checks.clean
            and sid is not None
            and sid >= 1
            and triggers_absent(rule.option_names)
            and all_known(rule.option_names)
            and len(rule.text) + checks.growth <= length_max
        ):
            if sid not in first_by_sid:
                first_by_sid[sid] = rule
                accepted.append(rule)
                continue
            problems = []
        else:
            problems = _rule_problems(rule, checks, strict_order)
        if not problems and sid in first_by_sid:
            first = first_by_sid[sid]  # type: ignore[index]
            problems.append((limits.R_SID_DUPLICATE, f"sid {sid} is already used at {first.where}"))
        if problems:
            reason, detail = problems[0]
            others = tuple(dict.fromkeys(r for r, _ in problems[1:] if r != reason))
            result.rejected.append(Rejection(reason, detail, rule.where, sid, others))
            continue
        first_by_sid[sid] = rule  # type: ignore[index]  # no sid problem, so sid is an int
        accepted.append(rule)
    result.warnings.extend(missing_flowbit_setters(result.accepted))
    return result


def flowbit_usage(rule: ParsedRule) -> tuple[set[str], set[str]]:
    """(names the rule sets/unsets/toggles, names it checks with isset/isnotset)."""
    sets: set[str] = set()
    checks: set[str] = set()
    for name, value in rule.options:
        if name != "flowbits":
            continue
        command, names = flowbit_names(value)
        if command in FLOWBIT_SETTERS:
            sets.update(names)
        elif command in FLOWBIT_CHECKERS:
            checks.update(names)
    return sets, checks


def missing_flowbit_setters(rules: Iterable[ParsedRule]) -> list[Finding]:
    """Rules that check a flowbit no rule in ``rules`` sets."""
    set_somewhere: set[str] = set()
    checkers: list[tuple[ParsedRule, set[str]]] = []
    for rule in rules:
        if "flowbits" not in rule.text:
            continue
        sets, checks = flowbit_usage(rule)
        set_somewhere |= sets
        if checks:
            checkers.append((rule, checks))
    findings = []
    for rule, checks in checkers:
        missing = sorted(checks - set_somewhere)
        if missing:
            findings.append(
                Finding(
                    limits.W_FLOWBIT_SETTER,
                    f"flowbit(s) {', '.join(missing)} checked but never set",
                    rule.where,
                    rule.sid,
                )
            )
    return findings
