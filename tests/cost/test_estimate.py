"""The itemized month of the repository's stacks and of every deployment model.

Expected amounts are recomputed here from the stack config (AZs, spokes) and the price table,
never copied from the command's output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from egress_net import cost
from egress_net.errors import ConfigError
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.recording import RecordedResource, Recording
from tests.conftest import hub_config, synth_config

from .conftest import SynthComparison

H = cost.HOURS_PER_MONTH
P = cost.DEFAULT_PRICES
GB = 1000.0


def az_count(recording: Recording) -> int:
    return len(recording.config["egress-net:azIds"])


def spoke_count(recording: Recording) -> int:
    return len(recording.config.get("egress-net:spokes", []))


def egress_only_total(azs: int, attachments: int, gb: float) -> float:
    """Firewall before NAT in every AZ: NAT hours and GB fully waived, one TGW entry per GB;
    each NAT gateway has a public Elastic IP."""
    return (
        azs * H * (P.firewall_endpoint_hour + P.public_ipv4_hour)
        + gb * P.firewall_per_gb
        + attachments * H * P.tgw_attachment_hour
        + gb * P.tgw_per_gb
    )


def test_dev_itemized_from_its_config(dev: Recording) -> None:
    azs, attachments = az_count(dev), 1 + spoke_count(dev)  # the egress VPC and each spoke
    est = cost.estimate(dev, cost.Usage(GB))

    assert est.inventory.firewall_endpoints == azs == 2
    assert est.inventory.nat_gateways == azs
    assert est.inventory.vpc_attachments == attachments == 3
    assert est.monthly("Network Firewall endpoint-hours") == pytest.approx(
        azs * H * P.firewall_endpoint_hour
    )
    assert est.monthly("Network Firewall data processed") == pytest.approx(GB * P.firewall_per_gb)
    assert est.monthly("NAT gateway-hours") == pytest.approx(azs * H * P.nat_gateway_hour)
    assert est.monthly("NAT gateway-hours waived") == pytest.approx(-azs * H * P.nat_gateway_hour)
    assert est.monthly("NAT gateway data processed") == pytest.approx(GB * P.nat_per_gb)
    assert est.monthly("NAT gateway data processed waived") == pytest.approx(-GB * P.nat_per_gb)
    assert est.monthly("Transit Gateway VPC attachment-hours") == pytest.approx(
        attachments * H * P.tgw_attachment_hour
    )
    assert est.monthly("Transit Gateway data processed") == pytest.approx(GB * P.tgw_per_gb)
    assert est.monthly("Cross-AZ data transfer") == 0
    assert est.monthly("Public IPv4 address-hours") == pytest.approx(azs * H * P.public_ipv4_hour)
    assert est.total == pytest.approx(egress_only_total(azs, attachments, GB))
    assert est.path.source == "traced"
    assert est.path.subnets == spoke_count(dev) * azs


def test_prod_itemized_from_its_config(prod: Recording) -> None:
    azs, attachments = az_count(prod), 1 + spoke_count(prod)
    est = cost.estimate(prod, cost.Usage(GB))
    assert (est.inventory.firewall_endpoints, est.inventory.vpc_attachments) == (3, 2)
    assert est.total == pytest.approx(egress_only_total(azs, attachments, GB))


def test_spoke_stack_pays_its_attachment_and_its_traffic_along_the_hub(
    prod_payments: Recording, prod: Recording
) -> None:
    est = cost.estimate(prod_payments, cost.Usage(100), context=[prod])
    assert est.inventory.firewall_endpoints == 0
    assert est.inventory.nat_gateways == 0
    assert est.inventory.vpc_attachments == 1
    assert est.path.source == "traced"  # through the hub's firewall and NAT
    expected = H * P.tgw_attachment_hour + 100 * (P.firewall_per_gb + P.tgw_per_gb)
    assert est.total == pytest.approx(expected)


def test_gb_scale_only_the_per_gb_items(dev: Recording) -> None:
    low, high = cost.estimate(dev, cost.Usage(0)), cost.estimate(dev, cost.Usage(2000))
    assert high.total - low.total == pytest.approx(2000 * (P.firewall_per_gb + P.tgw_per_gb))


def test_cross_az_fraction_is_charged_on_both_sides(dev: Recording) -> None:
    assert cost.estimate(dev, cost.Usage(GB)).cross_az_fraction == 0  # traced: same AZ
    est = cost.estimate(dev, cost.Usage(GB, cross_az_fraction=0.25))
    assert est.monthly("Cross-AZ data transfer") == pytest.approx(GB * 0.25 * 2 * P.cross_az_per_gb)


@pytest.mark.parametrize(
    ("usage", "where"),
    [
        (cost.Usage(-1), "--gb-per-month"),
        (cost.Usage(float("nan")), "--gb-per-month"),
        (cost.Usage(float("inf")), "--gb-per-month"),
        (cost.Usage(10, cross_az_fraction=1.5), "--cross-az-fraction"),
        (cost.Usage(10, cross_az_fraction=-0.1), "--cross-az-fraction"),
        (cost.Usage(10, nat_waiver="all"), "--nat-waiver"),  # type: ignore[arg-type]
    ],
)
def test_bad_usage_is_a_clear_error(dev: Recording, usage: cost.Usage, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        cost.estimate(dev, usage)
    assert err.value.where == where


# --- the NAT gateway waiver -------------------------------------------------------------------


def replace_resources(
    recording: Recording, change: Callable[[RecordedResource], RecordedResource]
) -> Recording:
    return dataclasses.replace(recording, resources=[change(r) for r in recording.resources])


def firewall_subnet_to_igw(recording: Recording) -> Recording:
    """The firewall subnets' default route goes straight to the IGW: the NAT is off the path."""
    igw = recording.of_type(cost.INTERNET_GATEWAY)[0].id

    def change(r: RecordedResource) -> RecordedResource:
        if r.type == "aws:ec2/route:Route" and r.inputs.get("natGatewayId"):
            inputs = {k: v for k, v in r.inputs.items() if k != "natGatewayId"}
            inputs["gatewayId"] = igw
            outputs = {k: v for k, v in r.outputs.items() if k != "natGatewayId"}
            outputs["gatewayId"] = igw
            return dataclasses.replace(r, inputs=inputs, outputs=outputs)
        return r

    return replace_resources(recording, change)


def test_nat_behind_the_firewall_is_chained(dev: Recording) -> None:
    graph = graph_from_recordings([dev])
    assert cost.chained_nat_gateways(graph) == {r.id for r in dev.of_type(cost.NAT_GATEWAY)}


def test_nat_before_the_firewall_is_chained() -> None:
    after_nat = synth_config(hub_config(placement="after-nat"), stack="after-nat")
    nats = {r.id for r in after_nat.of_type(cost.NAT_GATEWAY)}
    assert cost.chained_nat_gateways(graph_from_recordings([after_nat])) == nats
    est = cost.estimate(after_nat, cost.Usage(GB))
    assert est.monthly("NAT gateway-hours") + est.monthly("NAT gateway-hours waived") == 0
    assert est.monthly("NAT gateway data processed waived") == pytest.approx(-GB * P.nat_per_gb)


def test_nat_off_the_firewall_path_gets_no_waiver(dev: Recording) -> None:
    broken = firewall_subnet_to_igw(dev)
    assert cost.chained_nat_gateways(graph_from_recordings([broken])) == set()
    est = cost.estimate(broken, cost.Usage(GB))
    assert est.monthly("NAT gateway-hours waived") == 0
    assert est.monthly("NAT gateway data processed waived") == 0
    assert est.monthly("NAT gateway-hours") == pytest.approx(az_count(dev) * H * P.nat_gateway_hour)
    # The reply cannot find its way back without the NAT: the per-GB path falls back.
    assert est.path.source == "structure"
    assert "does not reach" in est.path.note or "is lost" in est.path.note


def test_waiver_is_one_nat_hour_per_endpoint_hour_and_one_gb_per_firewall_gb() -> None:
    inv = cost.Inventory(
        resources=0,
        firewalls=1,
        firewall_endpoints=2,
        tgw_attached_firewalls=0,
        nat_gateways=3,
        chained_nat_gateways=3,
        vpc_attachments=0,
    )
    path = cost.PathProfile(
        tgw_entries=0,
        firewall_passes=0.5,  # half the traffic skips the firewall
        nat_passes=1,
        chained_nat_passes=1,
        cross_az_share=0,
        source="traced",
    )
    items = {i.item: i for i in cost.line_items(inv, path, GB, 0.0, P)}
    assert items["NAT gateway-hours waived"].quantity == -2 * H
    assert items["NAT gateway data processed waived"].quantity == -0.5 * GB
    assert items["NAT gateway-hours"].quantity == 3 * H


# --- every deployment model -------------------------------------------------------------------


def test_centralized_inspection_enters_the_tgw_twice_and_its_nat_is_not_chained(
    comparison_stack: SynthComparison,
) -> None:
    rec = comparison_stack("centralized-inspection", 1)
    est = cost.estimate(rec, cost.Usage(GB))
    assert est.path.source == "traced"
    assert est.path.tgw_entries == 2  # spoke → inspection VPC, inspection VPC → egress VPC
    assert est.inventory.vpc_attachments == 3  # spoke, inspection VPC, egress VPC
    assert est.monthly("NAT gateway-hours waived") == 0
    literal = cost.estimate(rec, cost.Usage(GB, nat_waiver="any"))
    assert literal.monthly("NAT gateway-hours waived") == pytest.approx(-3 * H * P.nat_gateway_hour)
    assert est.total - literal.total == pytest.approx(
        3 * H * P.nat_gateway_hour + GB * P.nat_per_gb
    )


def test_tgw_attached_firewall_counts_az_mappings_and_its_own_attachment(
    comparison_stack: SynthComparison,
) -> None:
    rec = comparison_stack("tgw-attached", 1)
    firewall = rec.of_type(cost.FIREWALL)[0]
    assert firewall.inputs.get("transitGatewayId")
    assert not firewall.inputs.get("subnetMappings")
    est = cost.estimate(rec, cost.Usage(GB))
    assert est.inventory.firewall_endpoints == len(cost.COMPARE_AZ_IDS)
    assert est.monthly("Transit Gateway firewall attachment-hours") == pytest.approx(
        H * P.tgw_firewall_attachment_hour
    )
    assert est.path.tgw_entries == 2  # into the TGW from the spoke, again from the firewall


def test_distributed_has_no_transit_gateway_charges(comparison_stack: SynthComparison) -> None:
    est = cost.estimate(comparison_stack("distributed", 2), cost.Usage(GB))
    assert est.inventory.vpc_attachments == 0
    assert est.monthly("Transit Gateway data processed") == 0
    assert est.inventory.firewall_endpoints == 2 * len(cost.COMPARE_AZ_IDS)  # one per spoke AZ
    assert est.inventory.chained_nat_gateways == est.inventory.nat_gateways == 6


@pytest.mark.parametrize("model", ["egress-only", "centralized-inspection", "distributed"])
def test_fallback_from_resource_kinds_agrees_with_the_trace(
    comparison_stack: SynthComparison, model: str
) -> None:
    rec = comparison_stack(model, 1)
    traced = cost.estimate(rec, cost.Usage(GB))
    assert traced.path.source == "traced"
    fallback = cost.structural_profile(rec, traced.inventory, "not traced")
    for passes in ("tgw_entries", "firewall_passes", "nat_passes", "chained_nat_passes"):
        assert getattr(fallback, passes) == getattr(traced.path, passes), passes
