"""``egress-net rules check``: report, exit codes and user errors (in-process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from egress_net.cli import main
from egress_net.commands import rules as rules_command

GOOD = 'alert tcp $HOME_NET any -> $EXTERNAL_NET any (msg:"x"; sid:{sid};)\n'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_clean_file_reports_counts_groups_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "ok.rules", GOOD.format(sid=1) + GOOD.format(sid=2))
    assert main(["rules", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Rejected by reason: none" in out
    # 2 rules + 20% headroom need 3; a new group gets the stable step, as a deploy names it.
    assert "egress-suricata-ok-c100       100       3" in out
    assert "Policy totals: 1 of 20 stateful groups, capacity 3 of 30000 (100 as deployed)" in out
    assert "Result: the plan deploys" in out


def test_check_names_the_groups_as_the_program_deploys_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from egress_net import engine

    rules_file = repo / "rules" / "prod-egress.rules"

    def checked_names(*extra: str) -> set[str]:
        assert main(["rules", "check", str(rules_file), *extra]) == 0
        out = capsys.readouterr().out
        table = out.split("Planned rule groups", 1)[1].split("Policy totals")[0]
        return {line.split()[0] for line in table.splitlines()[2:] if line.strip()}

    deployed = {
        r.inputs["name"]
        for r in engine.synth_stack("prod", repo).of_type("aws:networkfirewall/ruleGroup:RuleGroup")
        if "-suricata-" in r.inputs["name"]
    }
    assert checked_names("--stack", "prod") == deployed
    # Without a stack: the rules layer's names, which a deploy prefixes with project and stack.
    assert {f"egress-net-prod-{name}" for name in checked_names()} == deployed


def test_check_refuses_a_stack_name_pulumi_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "ok.rules", GOOD.format(sid=1))
    assert main(["rules", "check", str(path), "--stack", "team/prod"]) == 2
    assert "error: --stack: not a Pulumi stack name: 'team/prod'" in capsys.readouterr().err


def test_rejections_are_grouped_with_examples_and_strict_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.format(sid=1) + "log tcp any any -> any any (sid:2;)\n"
    path = write(tmp_path, "mixed.rules", text)
    assert main(["rules", "check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "unsupported-action:log: 1" in out
    assert f"e.g. {path}:2 sid 2:" in out
    assert "(1 rejected rules left out)" in out
    assert main(["rules", "check", "--strict", str(path)]) == 1
    assert "--strict fails" in capsys.readouterr().out


def test_a_malformed_line_fails_the_check_as_it_fails_any_deploy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # rejectedRules: skip leaves out rules Network Firewall rejects, not lines that are no
    # rule at all (a typo, or a file that is not a rules file).
    path = write(tmp_path, "typo.rules", GOOD.format(sid=1) + "alert tcp any ->\n")
    assert main(["rules", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "malformed-rule: 1" in out
    assert "stop a deploy even with rejectedRules: skip" in out and f"{path}:2" in out


def test_plan_that_cannot_deploy_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "many.rules", "".join(GOOD.format(sid=i) for i in range(1, 31)))
    code = main(
        [
            "rules",
            "check",
            "--group-capacity-max",
            "10",
            "--groups-max",
            "2",
            "--headroom",
            "0",
            str(path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "the plan cannot deploy" in out and "3 stateful rule groups" in out


def test_variables_file_defines_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "v.rules", "alert http $HOME_NET any -> $WEB any (sid:1;)\n")
    assert main(["rules", "check", "--strict", str(path)]) == 1
    assert "undefined-variable: 1" in capsys.readouterr().out
    variables = write(tmp_path, "vars.json", '{"ipSets": {"WEB": ["192.0.2.0/24"]}}')
    assert main(["rules", "check", "--strict", "--variables", str(variables), str(path)]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.rules"], "no such file or directory"),
        (["--home-net", "10.0.0.1/8", "ok.rules"], "--home-net: '10.0.0.1/8' is not a CIDR"),
        (["--headroom", "-1", "ok.rules"], "--headroom"),
        (["--groups-max", "0", "ok.rules"], "--groups-max: must be 1 or more"),
        (["--variables", "nope.yaml", "ok.rules"], "cannot read the variables file"),
        (["--variables", "list.yaml", "ok.rules"], "must be a mapping"),
        (["--variables", "broken.yaml", "ok.rules"], "not valid YAML"),
        (["--variables", "extra.yaml", "ok.rules"], "extra.yaml: rules: unknown key"),
        (["--variables", "badcidr.yaml", "ok.rules"], "ipSets.WEB.0"),
        (["empty"], "no .rules files found"),
    ],
)
def test_user_errors_exit_two_with_a_clear_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ok.rules", GOOD.format(sid=1))
    write(tmp_path, "list.yaml", "- a\n- b\n")
    write(tmp_path, "broken.yaml", "ipSets: [\n")
    write(tmp_path, "extra.yaml", "rules: {}\n")
    write(tmp_path, "badcidr.yaml", "ipSets:\n  WEB: [300.0.0.0/8]\n")
    (tmp_path / "empty").mkdir()
    assert main(["rules", "check", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_rules_subparsers_are_exposed_for_other_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 2  # no verb: help, exit 2
    assert "check" in capsys.readouterr().out
    assert rules_command.RULES_SUBPARSERS is not None
    assert "check" in rules_command.RULES_SUBPARSERS.choices


def test_console_entry_point_smoke(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.rules", GOOD.format(sid=1))
    done = subprocess.run(
        [sys.executable, "-m", "egress_net.cli", "rules", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "Result: the plan deploys" in done.stdout


def test_the_policy_quota_is_checked_on_capacity_as_deployed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1,100 rules need 1,320 with headroom, but a new group is created with 1,500.
    rules = "".join(GOOD.format(sid=i) for i in range(1, 1101))
    path = write(tmp_path, "many.rules", rules)
    assert main(["rules", "check", "--policy-capacity-max", "1400", str(path)]) == 1
    out = capsys.readouterr().out
    assert "capacity 1320 of 1400 (1500 as deployed)" in out
    assert "take 1500 stateful capacity as deployed" in out
    assert main(["rules", "check", "--policy-capacity-max", "1500", str(path)]) == 0


def test_after_nat_makes_source_scoped_rules_stop_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scoped = 'drop tcp 10.1.0.0/16 any -> $EXTERNAL_NET 22 (msg:"ssh"; sid:7;)\n'
    path = write(tmp_path, "nat.rules", scoped)
    assert main(["rules", "check", str(path)]) == 0  # the firewall sees spoke addresses
    capsys.readouterr()
    assert main(["rules", "check", "--after-nat", str(path)]) == 1
    assert f"{path}:1: source-not-visible-behind-nat (sid 7)" in capsys.readouterr().out
