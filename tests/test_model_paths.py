"""Every model, proven by the path tracer: all spoke × AZ paths pass, and a seeded fault in
each model is reported with the right reason."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from egress_net import engine
from egress_net.commands.verify import intent_from_config
from egress_net.graph.checks import CheckOptions, SpokeToSpoke, run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.recording import RecordedResource, Recording

from .conftest import REPO

MODEL_STACKS = [
    "dev",
    "example-after-nat",
    "example-single-table",
    "example-centralized",
    "example-distributed",
    "example-combined",
    "example-tgw-attached",
]


@cache
def synth(stack: str) -> Recording:
    return engine.synth_stack(stack, REPO)


def problems(rec: Recording, intent: SpokeToSpoke | None = None) -> list[str]:
    chosen = intent or intent_from_config(rec.config)
    report = run_checks(graph_from_recordings([rec]), CheckOptions(spoke_to_spoke=chosen))
    return [f"{f.spoke} {f.az_id}: {p}" for f in report.findings for p in f.problems]


def tag(r: RecordedResource, label: str) -> str:
    return (r.inputs.get("tags") or {}).get(f"egress-net:{label}", "")


def one(rec: Recording, type_suffix: str, **tags: str) -> RecordedResource:
    (found,) = [
        r
        for r in rec.resources
        if r.type.endswith(type_suffix)
        and all(tag(r, k.replace("_", "-")) == v for k, v in tags.items())
    ]
    return found


def routes_of(rec: Recording, table: RecordedResource) -> list[RecordedResource]:
    return [r for r in rec.of_type("aws:ec2/route:Route") if r.inputs["routeTableId"] == table.id]


def patched(rec: Recording, target: RecordedResource, **changes: Any) -> Recording:
    def change(r: RecordedResource) -> RecordedResource:
        if r.urn != target.urn:
            return r
        inputs = {k: v for k, v in {**r.inputs, **changes}.items() if v is not None}
        return replace(r, inputs=inputs, outputs={**r.outputs, **changes})

    return replace(rec, resources=[change(r) for r in rec.resources])


def without(rec: Recording, *doomed: RecordedResource) -> Recording:
    urns = {r.urn for r in doomed}
    return replace(rec, resources=[r for r in rec.resources if r.urn not in urns])


@pytest.mark.parametrize("stack", MODEL_STACKS)
def test_every_spoke_and_az_of_every_model_traces_clean(stack: str) -> None:
    rec = synth(stack)
    report = run_checks(
        graph_from_recordings([rec]), CheckOptions(spoke_to_spoke=intent_from_config(rec.config))
    )
    assert report.ok, problems(rec)
    spokes = {s.name: s.az_ids for s in report.spokes}
    assert spokes == {name: entry["azIds"] for name, entry in rec.outputs["spokes"].items()}
    egress = [f for f in report.findings if f.check.value == "egress"]
    assert len(egress) == sum(len(azs) for azs in spokes.values())
    for finding in egress:
        outbound = next(t for t, _ in finding.round_trips if t.primary)
        kinds = [h.kind.value for h in outbound.hops]
        assert kinds.count("firewall") == 1 and kinds[-1] in ("igw", "internet")


def test_centralized_inspection_without_appliance_mode_is_reported() -> None:
    rec = synth("example-centralized")
    inspection_vpc = one(rec, "ec2/vpc:Vpc", role="inspection")
    (attachment,) = [
        a
        for a in rec.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
        if a.inputs["vpcId"] == inspection_vpc.id
    ]
    found = problems(patched(rec, attachment, applianceModeSupport="disable"))
    # Between spokes in different AZs the reply enters another AZ's firewall endpoint.
    assert found and all("asymmetric" in p for p in found), found


def test_tgw_attached_firewall_on_the_wrong_tgw_table_is_reported() -> None:
    rec = synth("example-tgw-attached")
    spoke_table = one(rec, "transitgateway/routeTable:RouteTable", tgw_table="spoke")
    (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
    fw_attachment = fw.outputs["firewallStatuses"][0]["transitGatewayAttachmentSyncStates"][0][
        "attachmentId"
    ]
    (assoc,) = [
        a
        for a in rec.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
        if a.inputs["transitGatewayAttachmentId"] == fw_attachment
    ]
    found = problems(patched(rec, assoc, transitGatewayRouteTableId=spoke_table.id))
    assert found and all("routing loop" in p for p in found), found


def test_distributed_workload_route_straight_to_nat_is_a_bypass() -> None:
    rec = synth("example-distributed")
    table = one(rec, "ec2/routeTable:RouteTable", spoke="app", tier="workload", az_id="use1-az1")
    (default,) = routes_of(rec, table)
    nat = one(rec, "ec2/natGateway:NatGateway", spoke="app", az_id="use1-az1")
    found = problems(patched(rec, default, vpcEndpointId=None, natGatewayId=nat.id))
    assert any(p.startswith("app use1-az1:") and "bypass" in p for p in found), found


def test_after_nat_without_the_igw_edge_route_is_asymmetric() -> None:
    rec = synth("example-after-nat")
    edge = one(rec, "ec2/routeTable:RouteTable", tier="igw-edge")
    doomed = [
        r for r in routes_of(rec, edge) if r.inputs["destinationCidrBlock"] == "100.64.0.128/28"
    ]
    found = problems(without(rec, *doomed))
    assert found and all("euc1-az1" in p for p in found), found
    assert any("asymmetric" in p or "reply" in p for p in found), found


def test_combined_distributed_spoke_reply_through_another_az_is_reported() -> None:
    rec = synth("example-combined")
    public = one(
        rec, "ec2/routeTable:RouteTable", spoke="analytics", tier="public", az_id="use1-az1"
    )
    # The reply route: the AZ's own workload subnet (its exact CIDR) → the AZ's endpoint.
    (back,) = [r for r in routes_of(rec, public) if "vpcEndpointId" in r.inputs]
    other_az = one(
        rec, "ec2/routeTable:RouteTable", spoke="analytics", tier="public", az_id="use1-az2"
    )
    (other_back,) = [r for r in routes_of(rec, other_az) if "vpcEndpointId" in r.inputs]
    found = problems(patched(rec, back, vpcEndpointId=other_back.inputs["vpcEndpointId"]))
    assert any(p.startswith("analytics use1-az1") for p in found), found
    assert any("AZ" in p or "asymmetric" in p for p in found), found


def test_single_table_bypass_is_reported_unless_the_stack_accepts_it() -> None:
    rec = synth("example-single-table")
    assert problems(rec) == []  # the stack accepts the bypass
    found = problems(rec, SpokeToSpoke.INSPECTED)
    assert found and all("spoke" in p or "firewall" in p for p in found), found


def test_after_nat_blocks_spoke_to_spoke_and_a_missing_blackhole_is_reported() -> None:
    rec = synth("example-after-nat")
    blackholes = [
        r for r in rec.of_type("aws:ec2transitgateway/route:Route") if r.inputs.get("blackhole")
    ]
    assert [b.inputs["destinationCidrBlock"] for b in blackholes] == ["10.0.0.0/8"]
    found = problems(without(rec, *blackholes))
    assert found, "spoke-to-spoke through the NAT gateway must be reported"


def test_verify_warns_when_spoke_to_spoke_bypass_is_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from egress_net.cli import main

    assert main(["verify", "example-single-table", "--project-dir", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert (
        "WARNING: spoke-to-spoke traffic goes straight between spokes and bypasses the firewall"
        in out
    )
