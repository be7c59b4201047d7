"""Price overrides from a YAML or JSON file, and every mistake named as file:key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egress_net import cost
from egress_net.errors import ConfigError, ConfigErrors
from egress_net.recording import Recording

H = cost.HOURS_PER_MONTH


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_overrides_replace_only_the_named_prices(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "eu.yaml",
        "region: eu-central-1\nreadOn: '2026-11-01'\nprices:\n"
        "  firewallEndpointHour: 0.454\n  natGatewayHour: 0.052\n",
    )
    prices = cost.load_price_overrides(path)
    assert prices.firewall_endpoint_hour == 0.454
    assert prices.nat_gateway_hour == 0.052
    assert prices.region == "eu-central-1"
    assert prices.read_on == "2026-11-01"
    assert prices.tgw_per_gb == cost.DEFAULT_PRICES.tgw_per_gb  # untouched


def test_json_overrides_change_the_estimate(tmp_path: Path, dev: Recording) -> None:
    path = write(tmp_path, "rates.json", json.dumps({"prices": {"tgwAttachmentHour": 0.1}}))
    prices = cost.load_price_overrides(path)
    base = cost.estimate(dev, cost.Usage(1000))
    negotiated = cost.estimate(dev, cost.Usage(1000), prices)
    attachments = base.inventory.vpc_attachments
    assert negotiated.total - base.total == pytest.approx(attachments * H * (0.1 - 0.05))


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("prices:\n  natGatewayHr: 0.05\n", "prices.natGatewayHr", "unknown price"),
        ("prices:\n  natGatewayHour: cheap\n", "prices.natGatewayHour", "is not a number"),
        ("prices:\n  natGatewayHour: true\n", "prices.natGatewayHour", "is not a number"),
        ("prices:\n  natGatewayHour: .nan\n", "prices.natGatewayHour", "is not a number"),
        ("prices:\n  natPerGb: -0.01\n", "prices.natPerGb", "negative"),
        ("region: eu-west-1\n", "prices", "required"),
        ("prices: 0.05\n", "prices", "required"),
        ("price:\n  natPerGb: 0.01\n", "price", "unknown key"),
        ("region: 12\nprices: {}\n", "region", "non-empty string"),
    ],
)
def test_bad_overrides_name_file_and_key(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = write(tmp_path, "rates.yaml", text)
    with pytest.raises(ConfigError) as err:
        cost.load_price_overrides(path)
    assert err.value.where == f"{path}:{where}"
    assert problem in err.value.problem


def test_every_mistake_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "rates.yaml", "region: 12\nprices:\n  natGatewayHr: 1\n  natPerGb: -1\n")
    with pytest.raises(ConfigErrors) as err:
        cost.load_price_overrides(path)
    assert [e.where for e in err.value.errors] == [
        f"{path}:region",
        f"{path}:prices.natGatewayHr",
        f"{path}:prices.natPerGb",
    ]


def test_unknown_price_suggests_the_closest_one(tmp_path: Path) -> None:
    path = write(tmp_path, "rates.yaml", "prices:\n  natGatewayHr: 0.05\n")
    with pytest.raises(ConfigError) as err:
        cost.load_price_overrides(path)
    assert "natGatewayHour" in err.value.hint


def test_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "rates.yaml", "- 0.05\n")
    with pytest.raises(ConfigError) as err:
        cost.load_price_overrides(path)
    assert err.value.where == str(path)
    assert "prices" in err.value.hint


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "rates.yaml", "prices:\n  natPerGb: 0.01\n  tgwPerGb: [0.02\n")
    with pytest.raises(ConfigError) as err:
        cost.load_price_overrides(path)
    assert err.value.where.startswith(f"{path}:")
    assert err.value.where.rsplit(":", 1)[1].isdigit()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as err:
        cost.load_price_overrides(path)
    assert err.value.where == str(path)
    assert "cannot read" in err.value.problem
