"""Rules as Network Firewall reads them: one rule per line, Suricata 7.0 keywords, and
Suricata's shipped variables defined alike in ``rules check``, the program and the ET sync."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_net.cli import main
from egress_net.errors import RuleError
from egress_net.rules import ParseFailure, RuleVariables, parse_rules, validate_rules
from egress_net.rules.model import RulesConfig
from egress_net.rules.policy import plan_policy
from egress_net.rules.variables import SURICATA_PORT_DEFAULTS, complement, rule_variables_for

HOME = ["10.0.0.0/8"]


def test_two_rules_on_one_line_are_a_malformed_line() -> None:
    text = (
        'alert tcp any any -> any any (msg:"a"; sid:1;) '
        'alert tcp any any -> any any (msg:"b"; sid:2;)\n'
    )
    [failure] = parse_rules(text, filename="team.rules")
    assert isinstance(failure, ParseFailure)
    assert failure.where == "team.rules:1" and "two rules on one line" in failure.problem
    [trailing] = parse_rules("alert tcp any any -> any any (sid:1;) (sid:2;)")
    assert isinstance(trailing, ParseFailure) and "after the rule's closing" in trailing.problem


def test_unknown_keywords_are_rejected_with_file_and_line() -> None:
    text = (
        'alert tcp any any -> any any (msg:"ok"; content:"x"; nocase; sid:1;)\n'
        'alert tls any any -> any any (msg:"typo"; tls_sni_x; content:"x"; sid:2;)\n'
        'alert http any any -> any any (msg:"case"; HTTP.HOST; content:"x"; sid:3;)\n'
        'alert tcp any any -> any any (msg:"nfw lacks it"; dataset:isset,x; sid:4;)\n'
    )
    result = validate_rules(
        parse_rules(text, filename="team.rules"), variables=RuleVariables.for_home_net(HOME)
    )
    assert [r.sid for r in result.accepted] == [1, 3]  # Suricata reads keywords in any case
    typo, dataset = result.rejected
    assert (typo.where, typo.reason) == ("team.rules:2", "unknown-keyword:tls_sni_x")
    assert "not a Suricata 7.0 keyword" in typo.detail
    # A keyword Suricata knows but Network Firewall does not support keeps its own reason.
    assert dataset.reason == "unsupported-keyword:dataset"


def test_rules_check_fails_on_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "team.rules"
    path.write_text(
        "alert tcp any any -> any any (sid:1;) alert tcp any any -> any any (sid:2;)\n"
        "alert tcp any any -> any any (sidd:3;)\n"
    )
    assert main(["rules", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:1" in out and "two rules on one line" in out
    assert "unknown-keyword:sidd: 1" in out
    assert main(["rules", "check", "--strict", str(path)]) == 1


def test_a_deploy_refuses_an_unknown_keyword(tmp_path: Path) -> None:
    cfg = RulesConfig.model_validate(
        {"suricataRules": ['alert tcp any any -> any any (msg:"x"; flowbit:set,a; sid:9;)']}
    )
    with pytest.raises(RuleError, match="unknown-keyword:flowbit"):
        plan_policy(cfg, home_net=HOME, base_dir=tmp_path)


ET_STYLE = (
    'alert http $EXTERNAL_NET any -> $HTTP_SERVERS $HTTP_PORTS (msg:"web"; sid:1;)\n'
    'alert tcp $HOME_NET any -> $SQL_SERVERS $ORACLE_PORTS (msg:"db"; sid:2;)\n'
    'alert tcp $EXTERNAL_NET any -> $HOME_NET $SHELLCODE_PORTS (msg:"sc"; sid:3;)\n'
)


def test_rules_check_defines_suricata_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "et.rules"
    path.write_text(ET_STYLE)
    assert main(["rules", "check", "--strict", str(path)]) == 0
    assert "Rejected by reason: none" in capsys.readouterr().out


def test_the_program_defines_them_in_the_groups_that_use_them(tmp_path: Path) -> None:
    (tmp_path / "et.rules").write_text(ET_STYLE)
    cfg = RulesConfig.model_validate(
        {"ruleFiles": ["et.rules"], "portSets": {"HTTP_PORTS": ["80", "8080"]}}
    )
    plan = plan_policy(cfg, home_net=HOME, base_dir=tmp_path)
    [group] = [g for g in plan.stateful_groups if "suricata" in g.key]
    variables = group.rule_group["rule_variables"]
    ip_sets = {s["key"]: s["ip_set"]["definitions"] for s in variables["ip_sets"]}
    ports = {s["key"]: s["port_set"]["definitions"] for s in variables["port_sets"]}
    assert ip_sets == {"HOME_NET": HOME, "HTTP_SERVERS": HOME, "SQL_SERVERS": HOME}
    # A configured set wins over Suricata's default; "!80" is written as the ranges around it.
    assert ports == {
        "HTTP_PORTS": ["80", "8080"],
        "ORACLE_PORTS": ["1521"],
        "SHELLCODE_PORTS": ["0:79", "81:65535"],
    }


def test_rules_check_and_the_et_sync_define_the_same_port_variables() -> None:
    from egress_net.et_sync.select import DEFAULT_PORT_SETS

    assert SURICATA_PORT_DEFAULTS == DEFAULT_PORT_SETS


def test_aim_servers_is_the_outside_world() -> None:
    variables = RuleVariables.for_home_net(HOME, suricata_defaults=True)
    assert variables.ip_sets["AIM_SERVERS"] == complement(HOME)
    assert variables.ip_sets["DNS_SERVERS"] == HOME


def test_rule_variables_for_a_firewall_without_a_vpc() -> None:
    assert rule_variables_for("egress-only", HOME) == {"HOME_NET": HOME}
    tgw = rule_variables_for("tgw-attached", ["10.0.0.0/8", "172.16.0.0/12"])
    assert tgw["HOME_NET"] == ["10.0.0.0/8", "172.16.0.0/12"]
    assert "10.0.0.0/8" not in tgw["EXTERNAL_NET"] and "11.0.0.0/8" in tgw["EXTERNAL_NET"]
    assert "172.32.0.0/11" in tgw["EXTERNAL_NET"]


def test_keywords_in_capitals_are_checked_as_suricata_reads_them() -> None:
    text = 'alert tcp any any -> any any (msg:"x"; Threshold:type limit,track by_src; sid:5;)'
    [rejection] = validate_rules(
        parse_rules(text), variables=RuleVariables.for_home_net(HOME)
    ).rejected
    assert rejection.reason == "unsupported-keyword:threshold"
