"""The whole Emerging Threats Open 2024 ruleset: differential parse and the check report.

The counts pinned here are facts about fixed data (``../shared/data/et-open-2024``), read and
checked by hand: with only HOME_NET/EXTERNAL_NET defined, every rule using ET's other
variables ($HTTP_SERVERS, $HTTP_PORTS, ...) would fail to deploy (6,479), so ``rules check``
defines Suricata's shipped variables as the ET sync does; 1,984 rules use
``threshold`` (mostly the IP-list files: tor, ciarmy, compromised, drop, ...); 30 use xbits
tracked by IP; 3 use detection_filter; one is an ``ftp-data`` rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from idstools import rule as idstools_rule

from egress_net.cli import main
from egress_net.rules import ParsedRule, ParseFailure, RuleVariables, validate_rules

TOTAL_RULES = 34_850
ENABLED = 24_827
DISABLED = 10_023
ACCEPTED = 16_330
UNDEFINED_VARIABLE = 6_479
REJECTED_BY_REASON = {
    "undefined-variable": UNDEFINED_VARIABLE,
    "unsupported-keyword:threshold": 1_984,
    "unsupported-keyword:xbits-ip-tracking": 30,
    "unsupported-keyword:detection_filter": 3,
    "unsupported-protocol:ftp-data": 1,
}
# ET's own variables, as suricata.yaml defines them, for the second pass.
ET_VARIABLES_YAML = """\
ipSets:
  HTTP_SERVERS: [10.0.0.0/8]
  SQL_SERVERS: [10.0.0.0/8]
  SMTP_SERVERS: [10.0.0.0/8]
  DNS_SERVERS: [10.0.0.0/8]
  TELNET_SERVERS: [10.0.0.0/8]
portSets:
  HTTP_PORTS: ["80", "8080"]
  ORACLE_PORTS: ["1521"]
  SHELLCODE_PORTS: ["0:79", "81:65535"]
  SSH_PORTS: ["22"]
"""


def as_reference_tuple(rule: ParsedRule) -> tuple:
    return (
        rule.enabled,
        rule.action,
        rule.protocol,
        rule.src,
        rule.src_port,
        rule.direction,
        rule.dst,
        rule.dst_port,
        rule.sid,
        rule.rev,
        rule.msg,
        list(rule.options),
    )


def idstools_tuple(rule: idstools_rule.Rule) -> tuple:
    return (
        rule.enabled,
        rule.action,
        rule.proto,
        rule.source_addr,
        rule.source_port,
        rule.direction,
        rule.dest_addr,
        rule.dest_port,
        rule.sid,
        rule.rev,
        rule.msg,
        [(option["name"], option["value"]) for option in rule.options],
    )


def test_parser_agrees_with_idstools_on_every_rule(
    et_open_dir: Path, et_open_parsed: list[ParsedRule | ParseFailure]
) -> None:
    ours_by_file: dict[str, list[ParsedRule]] = {}
    for item in et_open_parsed:
        assert isinstance(item, ParsedRule), f"{item.where}: {item.problem}"
        ours_by_file.setdefault(item.file, []).append(item)
    compared = 0
    mismatches = []
    for path in sorted(et_open_dir.glob("*.rules")):
        reference = idstools_rule.parse_file(str(path))
        ours = ours_by_file.get(str(path), [])
        assert len(ours) == len(reference), path.name
        for mine, theirs in zip(ours, reference, strict=True):
            compared += 1
            if as_reference_tuple(mine) != idstools_tuple(theirs):
                mismatches.append(mine.where)
    assert compared == TOTAL_RULES
    assert mismatches == []


def test_deliberate_difference_escaped_backslash_before_semicolon() -> None:
    # Deliberate difference 1: an even run of backslashes before ';' escapes only itself,
    # so the ';' ends the option (Suricata's reading); idstools treats the ';' as escaped
    # and swallows the next option. No ET 2024 rule has this shape.
    from egress_net.rules import parse_rules

    text = "alert tcp any any -> any any (metadata:path C\\\\; sid:1;)"
    [mine] = parse_rules(text)
    assert isinstance(mine, ParsedRule)
    assert mine.option_values("metadata") == ["path C\\\\"] and mine.sid == 1
    theirs = idstools_rule.parse(text)
    assert theirs["sid"] is None and "sid:1" in theirs["metadata"][0]


def test_deliberate_difference_nested_negated_lists() -> None:
    # Deliberate difference 2: nested/negated address lists are one field (Suricata's
    # grammar); idstools cuts at the first ']' or space.
    from egress_net.rules import parse_rules

    text = "alert ip ![1.1.1.1, 2.2.2.2] any -> any any (sid:1;)"
    [mine] = parse_rules(text)
    assert isinstance(mine, ParsedRule) and mine.src == "![1.1.1.1, 2.2.2.2]"
    assert idstools_rule.parse(text) is None or idstools_rule.parse(text).source_addr != mine.src


def test_validation_counts_over_the_whole_set(
    et_open_parsed: list[ParsedRule | ParseFailure],
) -> None:
    result = validate_rules(et_open_parsed, variables=RuleVariables.for_home_net(["10.0.0.0/8"]))
    assert len(et_open_parsed) == TOTAL_RULES
    assert len(result.disabled) == DISABLED
    assert len(result.accepted) + len(result.rejected) == ENABLED
    assert len(result.accepted) == ACCEPTED
    assert result.counts_by_reason() == REJECTED_BY_REASON
    assert len(result.warnings) == 13
    assert {w.reason for w in result.warnings} == {"flowbits-setter-missing"}


def test_with_suricata_variables_only_unsupported_features_are_rejected(
    et_open_parsed: list[ParsedRule | ParseFailure],
) -> None:
    # What `rules check`, the program and the ET sync validate with: Suricata's shipped
    # variables defined. No ET rule uses a keyword Suricata 7.0 does not know.
    variables = RuleVariables.for_home_net(["10.0.0.0/8"], suricata_defaults=True)
    result = validate_rules(et_open_parsed, variables=variables)
    assert len(result.accepted) == ACCEPTED + UNDEFINED_VARIABLE
    expected = {k: v for k, v in REJECTED_BY_REASON.items() if k != "undefined-variable"}
    assert result.counts_by_reason() == expected
    assert not [r for r in result.rejected if r.reason.startswith("unknown-keyword")]


def _reported_counts(out: str) -> dict[str, int]:
    section = out.split("Rejected by reason", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^  (\S+): (\d+)$", section, re.MULTILINE)}


def test_rules_check_cli_over_the_whole_set(
    et_open_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rules", "check", str(et_open_dir)])
    out = capsys.readouterr().out
    assert code == 0, out  # rejected rules are left out; the plan itself deploys
    # $HTTP_SERVERS and friends are defined as the ET sync defines them: only rules using
    # features Network Firewall lacks are rejected, and the check plans what the sync plans.
    rejected = {k: v for k, v in REJECTED_BY_REASON.items() if k != "undefined-variable"}
    assert _reported_counts(out) == rejected
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    assert total.split()[1:] == [
        str(ACCEPTED + UNDEFINED_VARIABLE),
        str(sum(rejected.values())),
        str(DISABLED),
        "0",
    ]
    assert "Policy totals: 7 of 20 stateful groups, capacity 27373 of 30000" in out
    assert "e.g. " in out and "sid " in out

    # --strict makes the rejections fatal.
    assert main(["rules", "check", "--strict", "--examples", "0", str(et_open_dir)]) == 1
    capsys.readouterr()

    # A variables file's sets are used where given (Suricata's defaults fill the rest).
    variables = tmp_path / "et-vars.yaml"
    variables.write_text(ET_VARIABLES_YAML)
    assert main(["rules", "check", "--variables", str(variables), str(et_open_dir)]) == 0
    counts = _reported_counts(capsys.readouterr().out)
    assert "undefined-variable" not in counts
    assert counts["unsupported-keyword:threshold"] == 1_984
