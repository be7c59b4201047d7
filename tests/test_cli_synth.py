"""``egress-net synth``: the main job, in-process, plus one real subprocess run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from egress_net.cli import main
from egress_net.synth_report import NOTHING_DEPLOYED


def test_synth_dev_prints_resources_routes_tgw_and_outputs(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "dev", "--project-dir", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "Resources by type" in out
    assert "aws:networkfirewall/firewall:Firewall" in out
    # The firewall subnet route table in AZ 1 sends 0/0 to the NAT gateway of AZ 1.
    fw_table = out.split("route table hub-rt-firewall-use1-az1", 1)[1].split("route table", 1)[0]
    assert "0.0.0.0/0          → NAT gateway (use1-az1)" in fw_table
    public = out.split("route table hub-rt-public-use1-az2", 1)[1].split("route table", 1)[0]
    assert "10.0.0.0/8         → Network Firewall endpoint (use1-az2)" in public
    assert "associated: every new attachment (default association)" in out
    assert "contractVersion: 1" in out
    assert out.rstrip().endswith(NOTHING_DEPLOYED)


def test_synth_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "prod-payments", "--project-dir", str(repo), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["deployed"] is False
    assert doc["outputs"]["spoke"]["name"] == "payments"


def test_synth_bad_config_exits_2_naming_the_key(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_text((repo / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").write_text((repo / "__main__.py").read_text())
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  egress-net:role: hub\n"
        "  egress-net:azIds: [use1-az1]\n  egress-net:egressVpcCidr: 100.64.0.0/24\n"
        "  egress-net:spokeSupernets: [10.0.0.0/8]\n"
        "  egress-net:spokes:\n    - {name: app, cidr: 10.1.0.0/33}\n"
    )
    assert main(["synth", "bad", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "egress-net:spokes[0].cidr" in err
    assert "Traceback" not in err


def test_synth_unknown_stack_lists_the_stacks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "nope", "--project-dir", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "no config file for stack 'nope'" in err and "dev" in err and "prod" in err


def test_synth_invalid_yaml_names_the_line(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_text((repo / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  egress-net:role: hub\n   bad: [\n")
    assert main(["synth", "broken", "--project-dir", str(tmp_path)]) == 2
    assert "Pulumi.broken.yaml:" in capsys.readouterr().err


def test_egress_net_command_runs_as_a_program(repo: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "egress_net", "synth", "dev"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert NOTHING_DEPLOYED in result.stdout


@pytest.mark.parametrize(
    ("stack", "published"),
    [
        ("dev", {"TGW → firewall → NAT: 13.5 ± 1.2 ms"}),
        ("example-centralized", {"TGW → firewall → TGW → NAT: 13.4 ± 1.2 ms"}),
        # The firewall after the NAT gateway is another route: nothing published matches it.
        ("example-after-nat", {"no published measurement"}),
        ("example-distributed", {"no published measurement"}),
    ],
)
def test_synth_quotes_only_the_measurement_of_the_same_route(
    stack: str, published: set[str], repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", stack, "--project-dir", str(repo)]) == 0
    references = {
        line.strip().removeprefix("(published ").removeprefix("(").removesuffix(")")
        for line in capsys.readouterr().out.splitlines()
        if "published" in line
    }
    assert references == published
