"""Which ET rules to run and how: categories, IDS→IPS conversion and rule variables.

ET Open ships one file per category (``emerging-malware.rules`` is category ``malware``,
``tor.rules`` is ``tor``). Rules that use Suricata variables (``$HTTP_SERVERS``,
``$SHELLCODE_PORTS`` …) are kept and the variables defined as Network Firewall IP/port sets,
rather than dropping the rules as a plain port of the rules would have to.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from egress_net.rules.parser import ParsedRule, parse_rule
from egress_net.rules.variables import SURICATA_PORT_DEFAULTS

# The one action taken from the feed; see plan.feed_rules.
FEED_ACTION = "alert"
_HEADER_VARIABLE = re.compile(r"\$([A-Za-z][A-Za-z0-9_]*)")
# Suricata's shipped defaults for the port variables ET rules use: one table, shared with
# `egress-net rules check` and the program, so all three agree on what deploys.
DEFAULT_PORT_SETS = SURICATA_PORT_DEFAULTS
# Used when neither the config nor the hub gives the protected networks.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
# The settings that name categories, and their stack config keys (the function's error labels).
CATEGORY_SETTINGS = {
    "include_categories": "rules.emergingThreats.includeCategories",
    "exclude_categories": "rules.emergingThreats.excludeCategories",
    "ids_to_ips_categories": "rules.emergingThreats.idsToIpsCategories",
}
# How many of the ruleset's categories an error lists (the 2024 set has 51).
_LISTED_CATEGORIES = 8


def normalize_category(name: str) -> str:
    """``emerging-malware.rules``, ``emerging-malware`` and ``malware`` all name ``malware``."""
    base = name.strip().rsplit("/", 1)[-1].lower()
    base = base.removesuffix(".rules")
    return base.removeprefix("emerging-")


@dataclass(frozen=True)
class Selection:
    """Rules files chosen for the firewall: ``files`` maps the file name to its text."""

    files: dict[str, str]
    skipped_categories: tuple[str, ...]
    unknown_categories: tuple[str, ...]


def select_categories(
    files: Mapping[str, str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Selection:
    """Keep ``include`` (all when empty) minus ``exclude``; names not in the ruleset are listed."""
    by_category = {normalize_category(name): name for name in files}
    wanted = {normalize_category(c) for c in include} or set(by_category)
    unwanted = {normalize_category(c) for c in exclude}
    unknown = sorted((wanted | unwanted) - set(by_category))
    kept = sorted(c for c in by_category if c in wanted and c not in unwanted)
    chosen = {by_category[c]: files[by_category[c]] for c in kept}
    skipped = tuple(sorted(set(by_category) - set(kept)))
    return Selection(files=chosen, skipped_categories=skipped, unknown_categories=tuple(unknown))


def _unknown_name(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3)
    hint = " or ".join(repr(c) for c in close)
    return f"{name!r} (did you mean {hint}?)" if close else repr(name)


def unknown_category_problems(
    known: Collection[str], chosen: Mapping[str, Sequence[str]]
) -> list[tuple[str, str]]:
    """``(label, problem)`` for each setting naming categories the ruleset does not have.

    ``chosen`` maps a label (the config key or CLI flag the names came from) to the names.
    A typo must be an error: an include list of unknown names selects nothing, and a plan
    with nothing in it would detach every ET group.
    """
    ordered = sorted(known)
    problems: list[tuple[str, str]] = []
    for label, names in chosen.items():
        unknown = sorted({normalize_category(n) for n in names} - set(ordered))
        if unknown:
            noun = "category" if len(unknown) == 1 else "categories"
            names_text = ", ".join(_unknown_name(n, ordered) for n in unknown)
            problems.append((label, f"unknown {noun} {names_text}"))
    return problems


def ruleset_categories_text(known: Collection[str]) -> str:
    """``categories in this ruleset: a, b, … (51 in all)``, a few names for an error."""
    ordered = sorted(known)
    listed = ", ".join(ordered[:_LISTED_CATEGORIES]) or "(none)"
    if len(ordered) > _LISTED_CATEGORIES:
        listed += f", … ({len(ordered)} in all)"
    return f"categories in this ruleset: {listed}"


def as_drop(rule: ParsedRule) -> ParsedRule:
    """An ``alert`` rule of an idsToIpsCategories category as the ``drop`` rule it becomes."""
    text = "drop" + rule.text[len(rule.action) :]
    return parse_rule(text, enabled=rule.enabled, filename=rule.file, line=rule.line)


def header_variables(rule: str) -> set[str]:
    """Variable names used in a rule's header (before the options, where sets apply)."""
    header = rule.split("(", 1)[0]
    return set(_HEADER_VARIABLE.findall(header))


def variable_sets(
    used: Iterable[str],
    home_net: Sequence[str],
    ip_sets: Mapping[str, Sequence[str]] | None = None,
    port_sets: Mapping[str, Sequence[str]] | None = None,
) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    """``(home_net, ip_sets, port_sets)`` defining every variable the rules use that we can.

    As in Suricata's shipped config, ``*_SERVERS`` default to ``HOME_NET`` and the port
    variables to their well-known ports; configured values always win. ``EXTERNAL_NET`` is
    left to Network Firewall (the negation of ``HOME_NET``) unless configured. ``HOME_NET``
    defaults to the spoke supernets given by the hub, else the private ranges.
    """
    configured_ips = {k: list(v) for k, v in (ip_sets or {}).items()}
    home = configured_ips.pop("HOME_NET", None) or list(home_net) or list(PRIVATE_NETWORKS)
    ips = {name: list(home) for name in sorted(set(used)) if name.endswith("_SERVERS")}
    ips.update(configured_ips)
    ports = {name: list(value) for name, value in DEFAULT_PORT_SETS.items()}
    ports.update({k: list(v) for k, v in (port_sets or {}).items()})
    return home, ips, ports
