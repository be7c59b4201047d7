"""``alert`` mode: synth and verify say that everything not denied passes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from egress_net.cli import main
from egress_net.recording import Recording
from egress_net.synth_report import FIREWALL_POLICY, alert_mode_warnings

WARNING = "is in alert mode: everything not denied passes"


def test_alert_policy_warns_and_drop_policy_does_not(dev: Recording, prod: Recording) -> None:
    (warning,) = alert_mode_warnings([dev])
    assert warning.startswith("dev: firewall policy ") and WARNING in warning
    assert "egress-net:firewall.mode" in warning
    assert alert_mode_warnings([prod]) == []


def test_the_warning_reads_the_policy_as_deployed(prod: Recording) -> None:
    """A drop-mode config whose policy lost its drop default action still warns."""
    resources = [
        replace(r, inputs={**r.inputs, "firewallPolicy": {
            **r.inputs["firewallPolicy"], "statefulDefaultActions": ["aws:alert_established"]}})
        if r.type == FIREWALL_POLICY else r
        for r in prod.resources
    ]  # fmt: skip
    mutated = Recording(prod.project, prod.stack, resources, prod.outputs, prod.config)
    assert len(alert_mode_warnings([mutated])) == 1


def test_a_spoke_stack_warns_about_its_alert_mode_hub(
    prod_payments: Recording, dev: Recording
) -> None:
    assert alert_mode_warnings([prod_payments]) == []  # the spoke declares no policy itself
    assert len(alert_mode_warnings([prod_payments, dev])) == 1


def test_synth_prints_the_warning(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "dev", "--project-dir", str(repo)]) == 0
    out = capsys.readouterr().out
    assert f"warning: dev: firewall policy hub-policy {WARNING}" in out


def test_synth_of_a_drop_stack_does_not(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "example-after-nat", "--project-dir", str(repo)]) == 0
    assert WARNING not in capsys.readouterr().out


def test_verify_prints_the_warning(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "dev", "--project-dir", str(repo)]) == 0
    assert WARNING in capsys.readouterr().out


def test_verify_json_keeps_stdout_json_and_warns_on_stderr(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "dev", "--project-dir", str(repo), "--json"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert WARNING in captured.err
