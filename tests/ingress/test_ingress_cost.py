"""cost prices ingress: load balancer hours and capacity units, their public addresses, and
the ingress GB's firewall passes and TGW entries read from the traced paths."""

from __future__ import annotations

import pytest

from egress_net import cost, engine
from egress_net.errors import ConfigError

from ..conftest import REPO

USAGE = cost.Usage(1000, ingress_gb_per_month=500)


@pytest.fixture(scope="module")
def estimates() -> dict[str, cost.Estimate]:
    return {
        design: cost.estimate(engine.synth_stack(f"example-ingress-{design}", REPO), USAGE)
        for design in ("centralized", "distributed")
    }


def test_load_balancers_are_priced_with_their_addresses(
    estimates: dict[str, cost.Estimate],
) -> None:
    for est in estimates.values():
        inv = est.inventory
        assert (inv.application_load_balancers, inv.network_load_balancers) == (1, 1)
        assert inv.load_balancer_addresses == 4  # two LBs in two subnets each
        hours = cost.HOURS_PER_MONTH
        assert est.monthly("Application Load Balancer-hours") == pytest.approx(
            hours * est.prices.alb_hour
        )
        # 500 GB spread over two applications: 250 LCU-hours each at least.
        assert est.monthly("Application Load Balancer LCU-hours (floor)") == pytest.approx(
            250 * est.prices.alb_lcu_hour
        )
        assert est.monthly("Network Firewall data processed (ingress)") == pytest.approx(
            500 * est.prices.firewall_per_gb
        )


def test_only_the_centralized_design_pays_tgw_for_ingress(
    estimates: dict[str, cost.Estimate],
) -> None:
    central, spread = estimates["centralized"], estimates["distributed"]
    assert central.monthly("Transit Gateway data processed (ingress)") == pytest.approx(
        500 * central.prices.tgw_per_gb
    )
    assert spread.monthly("Transit Gateway data processed (ingress)") == 0
    # Distributed: an ingress firewall per serving spoke (2 spokes × 2 AZs) beside the hub's 2.
    assert (central.inventory.firewall_endpoints, spread.inventory.firewall_endpoints) == (4, 6)


def test_a_stack_without_ingress_has_no_ingress_items() -> None:
    est = cost.estimate(engine.synth_stack("dev", REPO), USAGE)
    assert not [i for i in est.items if "Load Balancer" in i.item or "(ingress)" in i.item]


def test_ingress_traffic_must_be_a_volume() -> None:
    with pytest.raises(ConfigError) as caught:
        cost.validate_usage(cost.Usage(1, ingress_gb_per_month=-1))
    assert caught.value.where == "--ingress-gb-per-month"


def test_load_balancer_prices_can_be_overridden() -> None:
    prices = cost.apply_price_overrides({"prices": {"albHour": 0.03}}, "prices.yaml")
    assert prices.alb_hour == 0.03
    assert set(cost.UNCONFIRMED_PRICES) <= set(cost.PRICE_KEYS.values())
