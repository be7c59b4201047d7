"""`egress-net verify` on the repo's stacks, and seeded faults in real and hand-built recordings."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from graph_factory import (
    HubSpokeFactory,
    added,
    find,
    new_resource,
    patched,
    route_table,
    routes_in,
    tag,
    tgw_table,
    without,
)

from egress_net import engine
from egress_net.cli import main
from egress_net.commands.verify import intent_from_config
from egress_net.graph.checks import CheckOptions, SpokeToSpoke, run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.recording import Recording

REPO = Path(__file__).resolve().parents[2]
# Every stack config in the repo, so a new one is verified without editing this test.
STACKS = tuple(
    sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml"))
)


@pytest.fixture(scope="session")
def synthesized() -> dict[str, list[Recording]]:
    """Each stack of the repo synthesized once, with the stacks it references."""
    result = {}
    for stack in STACKS:
        synth = engine.synth(engine.load_source(stack))
        result[stack] = [synth.recording, *synth.referenced.values()]
    return result


def problems_of(recordings: list[Recording], **options: object) -> list[str]:
    report = run_checks(graph_from_recordings(recordings), CheckOptions(**options))  # type: ignore[arg-type]
    return [p for f in report.findings for p in f.problems]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_in_the_repo_verifies_clean(
    stack: str, synthesized: dict[str, list[Recording]]
) -> None:
    recordings = synthesized[stack]
    intent = intent_from_config(recordings[0].config)
    report = run_checks(graph_from_recordings(recordings), CheckOptions(spoke_to_spoke=intent))

    assert report.ok, [p for f in report.findings for p in f.problems]
    # Every spoke of the stack is traced in every AZ it uses, out and back.
    assert report.spokes and all(spoke.az_ids for spoke in report.spokes)
    egress = [f for f in report.findings if f.check.value == "egress"]
    assert len(egress) == sum(len(s.subnets) for s in report.spokes)


def test_spoke_stack_is_verified_together_with_its_hub(
    synthesized: dict[str, list[Recording]],
) -> None:
    report = run_checks(graph_from_recordings(synthesized["prod-payments"]))
    assert "payments" in {s.name for s in report.spokes}


# -- seeded faults: each works on any recording of the egress-only design --------------------


def _first_az(rec: Recording) -> str:
    return sorted(
        {
            tag(r, "az-id")
            for r in find(rec, "ec2/subnet:Subnet", lambda r: tag(r, "tier") == "workload")
        }
    )[0]


def _second_az(rec: Recording) -> str:
    return sorted(
        {
            tag(r, "az-id")
            for r in find(rec, "ec2/subnet:Subnet", lambda r: tag(r, "tier") == "workload")
        }
    )[1]


def _a_spoke(rec: Recording) -> str:
    return sorted(
        {
            tag(r, "spoke")
            for r in find(rec, "ec2/subnet:Subnet", lambda r: tag(r, "tier") == "workload")
        }
    )[0]


def missing_return_route(rec: Recording) -> Recording:
    table = route_table(rec, "public", _first_az(rec))
    returns = [
        r
        for r in find(rec, "ec2/route:Route", lambda r: r.get("routeTableId") == table.id)
        if r.get("destinationCidrBlock") != "0.0.0.0/0"
    ]
    return without(rec, returns)


def cross_az_endpoint(rec: Recording) -> Recording:
    az1, az2 = _first_az(rec), _second_az(rec)
    (other,) = routes_in(rec, route_table(rec, "tgw", az2), "0.0.0.0/0")
    (route,) = routes_in(rec, route_table(rec, "tgw", az1), "0.0.0.0/0")
    return patched(rec, route, vpcEndpointId=other.get("vpcEndpointId"))


def spoke_internet_gateway(rec: Recording) -> Recording:
    spoke, az = _a_spoke(rec), _first_az(rec)
    table = route_table(rec, "workload", az, spoke=spoke)
    igw = new_resource(
        "aws:ec2/internetGateway:InternetGateway",
        f"{spoke}-igw",
        "igw-0badbadbadbadbad0",
        vpcId=table.get("vpcId"),
    )
    (route,) = routes_in(rec, table, "0.0.0.0/0")
    return added(patched(rec, route, transitGatewayId=None, gatewayId=igw.id), igw)


def missing_nat(rec: Recording) -> Recording:
    az = _second_az(rec)
    nats = find(rec, "ec2/natGateway:NatGateway", lambda r: tag(r, "az-id") == az)
    routes = find(rec, "ec2/route:Route", lambda r: r.get("natGatewayId") in {n.id for n in nats})
    return without(rec, [*nats, *routes])


def wrong_tgw_association(rec: Recording) -> Recording:
    egress, spokes = tgw_table(rec, "egress"), tgw_table(rec, "spokes")
    (association,) = find(
        rec,
        "transitgateway/routeTableAssociation:RouteTableAssociation",
        lambda r: r.get("transitGatewayRouteTableId") == egress.id,
    )
    return patched(rec, association, transitGatewayRouteTableId=spokes.id)


def missing_propagation(rec: Recording) -> Recording:
    return without(
        rec, find(rec, "defaultRouteTablePropagation:DefaultRouteTablePropagation", lambda r: True)
    )


def blackhole_on_path(rec: Recording) -> Recording:
    (route,) = find(
        rec,
        "transitgateway/route:Route",
        lambda r: r.get("transitGatewayRouteTableId") == tgw_table(rec, "spokes").id,
    )
    return patched(rec, route, blackhole=True, transitGatewayAttachmentId=None)


def routing_loop(rec: Recording) -> Recording:
    (default,) = find(
        rec,
        "transitgateway/route:Route",
        lambda r: r.get("transitGatewayRouteTableId") == tgw_table(rec, "spokes").id,
    )
    (fw_route,) = routes_in(rec, route_table(rec, "firewall", _first_az(rec)), "0.0.0.0/0")
    (tgw,) = find(rec, "transitGateway:TransitGateway", lambda r: True)
    back_to_egress = replace(
        default,
        urn=default.urn + "-loop",
        name=default.name + "-loop",
        inputs={**default.inputs, "transitGatewayRouteTableId": tgw_table(rec, "egress").id},
        outputs={**default.outputs, "transitGatewayRouteTableId": tgw_table(rec, "egress").id},
    )
    return added(patched(rec, fw_route, natGatewayId=None, transitGatewayId=tgw.id), back_to_egress)


FAULTS: list[tuple[str, Callable[[Recording], Recording], str]] = [
    ("missing return route", missing_return_route, "reply does not come back"),
    ("AZ pointed at another AZ's endpoint", cross_az_endpoint, "changes AZ: outbound firewall"),
    ("spoke with its own 0/0 to an IGW", spoke_internet_gateway, "bypass: reaches the internet"),
    ("missing NAT in one AZ", missing_nat, "no NAT gateway in"),
    ("egress attachment on the wrong TGW table", wrong_tgw_association, "routing loop"),
    ("missing TGW propagation", missing_propagation, "reply no-route"),
    ("blackhole on the path", blackhole_on_path, "outbound blackhole"),
    ("routing loop", routing_loop, "routing loop"),
]


@pytest.fixture(params=["hand-built", "dev"])
def good_recording(
    request: pytest.FixtureRequest, synthesized: dict[str, list[Recording]]
) -> Recording:
    if request.param == "dev":
        (recording,) = synthesized["dev"]
        return recording
    return HubSpokeFactory().build()


@pytest.mark.parametrize(("fault", "seed", "reason"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_seeded_fault_is_caught_with_its_reason(
    good_recording: Recording, fault: str, seed: Callable[[Recording], Recording], reason: str
) -> None:
    assert problems_of([good_recording]) == []

    found = problems_of([seed(good_recording)])

    assert any(reason in p for p in found), (fault, found)


def test_fault_reason_names_the_table_and_the_az(good_recording: Recording) -> None:
    az = _first_az(good_recording)
    found = problems_of([missing_return_route(good_recording)])
    assert all(az in p or "10." in p for p in found)
    assert any(f"{az}" in p for p in problems_of([cross_az_endpoint(good_recording)]))


def _spoke_to_spoke_shortcut(rec: Recording, every_spoke: bool = False) -> Recording:
    """Static routes that send spoke CIDRs straight to their attachments, past the hub: for the
    last spoke only (one direction bypasses), or for every spoke (both directions do)."""
    spokes_table = tgw_table(rec, "spokes")
    spokes = sorted(
        find(rec, "ec2/vpc:Vpc", lambda r: bool(tag(r, "spoke"))), key=lambda r: tag(r, "spoke")
    )
    shortcuts = []
    for spoke in spokes if every_spoke else spokes[-1:]:
        (attachment,) = find(
            rec, "vpcAttachment:VpcAttachment", lambda r, vpc=spoke.id: r.get("vpcId") == vpc
        )
        shortcuts.append(
            new_resource(
                "aws:ec2transitgateway/route:Route",
                f"shortcut-{tag(spoke, 'spoke')}",
                f"tgw-route-0shortcut{len(shortcuts)}",
                transitGatewayRouteTableId=spokes_table.id,
                destinationCidrBlock=spoke.get("cidrBlock"),
                transitGatewayAttachmentId=attachment.id,
            )
        )
    return added(rec, *shortcuts)


def test_spoke_to_spoke_past_the_firewall_fails_when_inspection_is_intended(
    good_recording: Recording,
) -> None:
    found = problems_of([_spoke_to_spoke_shortcut(good_recording)])
    assert any("bypasses the firewall: delivered to" in p for p in found), found


def test_spoke_to_spoke_past_the_firewall_is_open_when_blocking_is_intended(
    good_recording: Recording,
) -> None:
    found = problems_of(
        [_spoke_to_spoke_shortcut(good_recording)], spoke_to_spoke=SpokeToSpoke.BLOCKED
    )
    assert any("is open: delivered to" in p for p in found), found


def test_spoke_to_spoke_blocked_by_routing_passes_when_blocking_is_intended(
    good_recording: Recording,
) -> None:
    spokes_table = tgw_table(good_recording, "spokes")
    blocks = [
        new_resource(
            "aws:ec2transitgateway/route:Route",
            f"block-{i}",
            f"tgw-route-0block{i}",
            transitGatewayRouteTableId=spokes_table.id,
            destinationCidrBlock=v.get("cidrBlock"),
            blackhole=True,
        )
        for i, v in enumerate(find(good_recording, "ec2/vpc:Vpc", lambda r: bool(tag(r, "spoke"))))
    ]
    blocked = added(good_recording, *blocks)

    assert problems_of([blocked], spoke_to_spoke=SpokeToSpoke.BLOCKED) == []
    assert any("not delivered (blackhole" in p for p in problems_of([blocked]))


# -- the command ------------------------------------------------------------------------------


def test_verify_prints_paths_and_the_summary_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "dev"]) == 0

    out = capsys.readouterr().out
    assert (
        "Instance(az1) → TGW → Network Firewall(az1) → NAT gateway(az1) → Internet gateway" in out
    )
    assert (
        "Internet gateway → NAT gateway(az1) → Network Firewall(az1) → TGW → Instance(az1)" in out
    )
    lines = out.splitlines()
    table = lines[max(i for i, line in enumerate(lines) if line.startswith("spoke  ")) :]
    assert table[0].split() == ["spoke", "use1-az1", "use1-az2"]
    assert table[1].split() == ["app", "pass", "pass"]
    assert "all checks pass" in out


def test_verify_json_has_a_cell_per_spoke_and_az(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "dev", "--json", "--destination", "203.0.113.77"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["destination"] == "203.0.113.77"
    assert {s["name"]: sorted(s["azs"]) for s in report["spokes"]} == {
        "app": ["use1-az1", "use1-az2"],
        "data": ["use1-az1", "use1-az2"],
    }
    out = report["findings"][2]["roundTrips"][0]["outbound"]
    assert out["outcome"] == "internet" and len(out["firewallEndpoints"]) == 1


def test_verify_exits_1_and_names_the_failing_cell(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    synthesized: dict[str, list[Recording]],
) -> None:
    (good,) = synthesized["dev"]
    broken = cross_az_endpoint(good)
    monkeypatch.setattr(engine, "synth", lambda source: engine.SynthResult(broken, [], {}))

    assert main(["verify", "dev"]) == 1

    out = capsys.readouterr().out
    assert "FAIL [1]" in out and "FAILED" in out
    assert "[1] app use1-az1: changes AZ" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["verify", "dev", "--destination", "not-an-ip"],
            "--destination: 'not-an-ip' is not an IPv4 address",
        ),
        (["verify", "dev", "--destination", "10.1.0.5"], "--destination: 10.1.0.5 is inside"),
        (["verify", "no-such-stack"], "no-such-stack"),
    ],
)
def test_bad_arguments_are_clear_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_spoke_to_spoke_intent_in_config_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    synthesized: dict[str, list[Recording]],
) -> None:
    (good,) = synthesized["dev"]
    odd = replace(good, config={**good.config, "egress-net:spokeToSpoke": "sometimes"})
    monkeypatch.setattr(engine, "synth", lambda source: engine.SynthResult(odd, [], {}))

    assert main(["verify", "dev"]) == 2
    assert (
        "egress-net:spokeToSpoke: 'sometimes' is not a spoke-to-spoke intent"
        in capsys.readouterr().err
    )


def test_verify_runs_as_a_command() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "egress_net", "verify", "dev"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "all checks pass" in done.stdout


def test_a_problem_on_another_az_s_flow_hash_path_says_so(good_recording: Recording) -> None:
    az1, az2 = _first_az(good_recording), _second_az(good_recording)
    report = run_checks(graph_from_recordings([missing_nat(good_recording)]))

    az1_egress = [f for f in report.findings if f.check.value == "egress" and f.az_id == az1]

    assert az1_egress and all(
        any(
            p.startswith(f"if the TGW pins the flow to {az2}: outbound no-route")
            for p in f.problems
        )
        for f in az1_egress
    )


def test_spoke_to_spoke_bypass_passes_when_the_stack_accepts_it(good_recording: Recording) -> None:
    both_ways = _spoke_to_spoke_shortcut(good_recording, every_spoke=True)
    assert problems_of([both_ways], spoke_to_spoke=SpokeToSpoke.OPEN) == []


def test_a_one_way_bypass_fails_even_when_bypass_is_accepted(good_recording: Recording) -> None:
    # The stateful firewall would see only one direction of the flow and drop it.
    found = problems_of(
        [_spoke_to_spoke_shortcut(good_recording)], spoke_to_spoke=SpokeToSpoke.OPEN
    )
    assert any("asymmetric: out through no firewall, reply through vpce-" in p for p in found)


@pytest.mark.parametrize(
    ("config", "intent"),
    [
        ({}, SpokeToSpoke.INSPECTED),
        ({"egress-net:transitGateway": {"acceptSpokeToSpokeBypass": True}}, SpokeToSpoke.OPEN),
        ({"egress-net:transitGateway": {"autoAccept": True}}, SpokeToSpoke.INSPECTED),
        ({"egress-net:spokeToSpoke": "blocked"}, SpokeToSpoke.BLOCKED),
    ],
)
def test_the_intent_comes_from_the_stack_config(
    config: dict[str, object], intent: SpokeToSpoke
) -> None:
    from egress_net.commands.verify import intent_from_config

    assert intent_from_config(config) is intent


def test_spokes_on_no_common_tgw_are_not_paired(hub_recording: Recording) -> None:
    (attachment,) = find(
        hub_recording, "vpcAttachment:VpcAttachment", lambda r: tag(r, "spoke") == "alpha"
    )
    report = run_checks(graph_from_recordings([without(hub_recording, [attachment])]))

    assert [f for f in report.findings if f.check.value == "spoke-to-spoke"] == []


def test_the_headline_counts_one_spoke_in_the_singular() -> None:
    from egress_net.graph.report import render_text

    one = HubSpokeFactory(spokes=(("alpha", "10.1.0.0/16"),)).build()
    two = HubSpokeFactory().build()

    assert "; 1 spoke; AZs:" in render_text(run_checks(graph_from_recordings([one])))
    assert "; 2 spokes; AZs:" in render_text(run_checks(graph_from_recordings([two])))
