"""`egress-net cost <stack>` and `egress-net cost compare`, and the pure comparison behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egress_net import cost
from egress_net.cli import main
from egress_net.recording import Recording

from .conftest import SynthComparison

H = cost.HOURS_PER_MONTH
P = cost.DEFAULT_PRICES
AZS = len(cost.COMPARE_AZ_IDS)


def test_compare_egress_only_one_and_two_spokes(comparison_stack: SynthComparison) -> None:
    recordings = {("egress-only", n): comparison_stack("egress-only", n) for n in (1, 2)}
    rows = cost.compare(recordings, cost.Usage(1000))
    assert [(r.model, r.spokes) for r in rows] == [("egress-only", 1), ("egress-only", 2)]
    one, two = rows
    for row, n in ((one, 1), (two, 2)):
        assert row.resources == len(recordings[("egress-only", n)])
        assert (row.endpoints, row.nat_gateways, row.attachments) == (AZS, AZS, n + 1)
        assert row.path_source == "traced"
    assert one.monthly == pytest.approx(
        AZS * H * (P.firewall_endpoint_hour + P.public_ipv4_hour)
        + 1000 * (P.firewall_per_gb + P.tgw_per_gb)
        + 2 * H * P.tgw_attachment_hour
    )
    # Traffic is the same; a second spoke only adds its attachment.
    assert two.monthly - one.monthly == pytest.approx(H * P.tgw_attachment_hour)
    assert two.resources > one.resources


def test_compare_every_model_with_one_spoke(comparison_stack: SynthComparison) -> None:
    models = cost.supported_models()
    assert "egress-only" in models
    rows = {
        r.model: r
        for r in cost.compare({(m, 1): comparison_stack(m, 1) for m in models}, cost.Usage(1000))
    }
    assert set(rows) == set(models)
    assert all(r.endpoints == AZS for r in rows.values())  # one spoke: one firewall in any model
    if "distributed" in rows:
        assert rows["distributed"].attachments == 0
    if "centralized-inspection" in rows:
        assert rows["centralized-inspection"].attachments == 3
        # a second TGW entry per GB and no NAT waiver make it dearer than egress-only
        assert rows["centralized-inspection"].monthly > rows["egress-only"].monthly


def test_comparison_config_spoke_bounds() -> None:
    with pytest.raises(cost.ConfigError) as err:
        cost.comparison_config("egress-only", 0)
    assert err.value.where == "--spokes"


def test_cli_json_matches_recomputed_total(
    dev: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", "dev", "--gb-per-month", "500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    azs, attachments = 2, 3
    expected = (
        azs * H * (P.firewall_endpoint_hour + P.public_ipv4_hour)
        + 500 * (P.firewall_per_gb + P.tgw_per_gb)
        + attachments * H * P.tgw_attachment_hour
    )
    assert out["total"] == pytest.approx(expected, abs=0.01)
    assert out["inventory"]["firewall_endpoints"] == azs
    assert sum(i["monthly"] for i in out["items"]) == pytest.approx(out["total"], abs=0.05)
    assert out["prices"]["region"] == "us-east-1"


def test_cli_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "prod", "--gb-per-month", "1000"]) == 0
    out = capsys.readouterr().out
    assert "Network Firewall endpoint-hours" in out
    assert "NAT gateway-hours waived" in out
    total_line = next(line for line in out.splitlines() if line.startswith("total"))
    expected = (
        3 * H * (P.firewall_endpoint_hour + P.public_ipv4_hour)
        + 1000 * (P.firewall_per_gb + P.tgw_per_gb)
        + 2 * H * P.tgw_attachment_hour
    )
    assert f"{expected:,.2f}" in total_line


def test_cli_overrides_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = tmp_path / "rates.yaml"
    rates.write_text("prices:\n  firewallEndpointHour: 0\n  firewallPerGb: 0\n")
    assert (
        main(["cost", "dev", "--gb-per-month", "1000", "--json", "--price-overrides", str(rates)])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == pytest.approx(
        1000 * P.tgw_per_gb + 3 * H * P.tgw_attachment_hour + 2 * H * P.public_ipv4_hour
    )


@pytest.mark.parametrize(
    ("argv", "where"),
    [
        (["cost", "dev", "--gb-per-month", "-5"], "--gb-per-month"),
        (["cost", "dev", "--gb-per-month", "5", "--cross-az-fraction", "2"], "--cross-az-fraction"),
        (["cost", "dev", "--gb-per-month", "5", "--spokes", "3"], "--spokes"),
        (["cost", "compare", "--gb-per-month", "5", "--spokes", "0"], "--spokes"),
        (["cost", "no-such-stack", "--gb-per-month", "5"], ""),
    ],
)
def test_cli_user_errors_exit_2(
    argv: list[str], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert where in err
    assert "Traceback" not in err


def test_cli_bad_overrides_name_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rates = tmp_path / "rates.yaml"
    rates.write_text("prices:\n  natPerGB: 0.04\n")
    assert main(["cost", "dev", "--gb-per-month", "5", "--price-overrides", str(rates)]) == 2
    err = capsys.readouterr().err
    assert f"{rates}:prices.natPerGB: unknown price" in err
    assert "natPerGb" in err


def test_cli_compare_keeps_rows_of_models_that_build(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cost, "supported_models", lambda: ["egress-only", "no-such-model"])
    code = main(["cost", "compare", "--spokes", "1", "--gb-per-month", "1000", "--json"])
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [(r["model"], r["spokes"]) for r in rows] == [("egress-only", 1)]
    assert code == 1
    assert "no-such-model with 1 spokes" in captured.err
