"""Synth refuses what AWS or a real `pulumi up` would refuse: routes (the engine's last step
and the graph checks) and ordering (the recorded dependencies)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import cache
from ipaddress import IPv4Network
from typing import Any

import pytest

from egress_net import deploy_order, engine, intent
from egress_net.aws_checks import AwsWouldRefuse, lambda_environment_bytes, refuse_what_aws_would
from egress_net.graph.checks import Check, run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.model import Route, RouteTable, RoutingGraph, TargetKind, Vpc
from egress_net.recording import RecordedResource, Recording
from egress_net.route_rules import ROUTE_ALREADY_EXISTS, refusals_in_graph, refusals_in_recording

from .conftest import REPO, hub_config, synth_config

STACKS = [
    "dev",
    "prod",
    "example-after-nat",
    "example-single-table",
    "example-centralized",
    "example-distributed",
    "example-combined",
    "example-tgw-attached",
]
OWNER_ROLE = "arn:aws:iam::444455556666:role/network-admin"
TGW = "aws:ec2transitgateway/"
ROUTE = "aws:ec2/route:Route"


@cache
def synth(stack: str) -> Recording:
    return engine.synth_stack(stack, REPO)


@cache
def tgw_in_network_account() -> Recording:
    return synth_config(
        hub_config(model="tgw-attached", transitGateway={"ownerRoleArn": OWNER_ROLE})
    )


def tag(r: RecordedResource, label: str) -> str:
    return (r.inputs.get("tags") or {}).get(f"egress-net:{label}", "")


def patched(rec: Recording, target: RecordedResource, **changes: Any) -> Recording:
    def change(r: RecordedResource) -> RecordedResource:
        return replace(r, **changes) if r.urn == target.urn else r

    return replace(rec, resources=[change(r) for r in rec.resources])


def with_inputs(rec: Recording, target: RecordedResource, **inputs: Any) -> Recording:
    return patched(rec, target, inputs={**target.inputs, **inputs})


@pytest.mark.parametrize("stack", STACKS)
def test_no_stack_routes_or_orders_what_aws_refuses(stack: str) -> None:
    rec = synth(stack)
    assert refusals_in_recording(rec) == []
    assert deploy_order.order_problems(rec) == []
    report = run_checks(graph_from_recordings([rec]))
    assert not [f for f in report.findings if f.check is Check.ROUTE_TABLES]


@pytest.mark.parametrize("stack", ["example-distributed", "example-combined"])
def test_distributed_public_tables_route_each_az_own_workload_subnet(stack: str) -> None:
    rec = synth(stack)
    by_id = rec.by_id()
    vpcs = {v.id: v for v in rec.of_type("aws:ec2/vpc:Vpc")}
    endpoint_subnet = {
        att["endpointId"]: att["subnetId"]
        for fw in rec.of_type("aws:networkfirewall/firewall:Firewall")
        for sync in fw.outputs["firewallStatuses"][0]["syncStates"]
        for att in sync["attachments"]
    }
    checked = 0
    for table in rec.of_type("aws:ec2/routeTable:RouteTable"):
        if not tag(table, "spoke") or tag(table, "tier") != "public":
            continue
        az = tag(table, "az-id")
        (back,) = [
            r
            for r in rec.of_type(ROUTE)
            if r.inputs["routeTableId"] == table.id and "vpcEndpointId" in r.inputs
        ]
        (workload,) = [
            s
            for s in rec.of_type("aws:ec2/subnet:Subnet")
            if s.inputs["vpcId"] == table.inputs["vpcId"]
            and tag(s, "tier") == "workload"
            and s.inputs["availabilityZoneId"] == az
        ]
        assert back.inputs["destinationCidrBlock"] == workload.inputs["cidrBlock"]
        assert (
            back.inputs["destinationCidrBlock"] != vpcs[table.inputs["vpcId"]].inputs["cidrBlock"]
        )
        fw_subnet = by_id[endpoint_subnet[back.inputs["vpcEndpointId"]]]
        assert fw_subnet.inputs["availabilityZoneId"] == az
        checked += 1
    assert checked >= 2


def test_the_command_exits_2_naming_the_route_aws_would_refuse(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The routes as they were: <VPC CIDR> → firewall endpoint in every public table."""
    from egress_net.cli import main

    planned = intent.distributed_spoke

    def app_cidr_replies(az_ids: list[str], placement: intent.Placement) -> intent.VpcPlan:
        plan = planned(az_ids, placement)
        tables = tuple(
            replace(
                t,
                routes=tuple(
                    replace(r, destination="10.1.0.0/16")  # spoke app's VPC CIDR
                    if isinstance(r.destination, intent.SubnetCidr)
                    else r
                    for r in t.routes
                ),
            )
            for t in plan.tables
        )
        return replace(plan, tables=tables)

    monkeypatch.setattr(intent, "distributed_spoke", app_cidr_replies)
    assert main(["synth", "example-distributed", "--project-dir", str(REPO)]) == 2
    err = capsys.readouterr().err
    # Registration order varies between runs (it is asynchronous): either AZ may come first.
    assert err.startswith("error: Route app-rt-public-use1-az")
    assert "Route app-rt-public-use1-az1-to-10-1-0-0-16: AWS would refuse" in err
    assert "hint: keep one route per destination" in err
    assert "data-rt-public" not in err  # 10.1.0.0/16 is outside spoke data's VPC
    assert err.count("Route app-rt-public-use1-az") == 2  # one per AZ, all reported at once


def test_the_engine_hook_names_every_refused_route() -> None:
    rec = synth("example-combined")
    public = next(
        t
        for t in rec.of_type("aws:ec2/routeTable:RouteTable")
        if tag(t, "spoke") == "analytics" and tag(t, "tier") == "public"
    )
    (back,) = [
        r
        for r in rec.of_type(ROUTE)
        if r.inputs["routeTableId"] == public.id and "vpcEndpointId" in r.inputs
    ]
    # A route more specific than local that is no subnet's CIDR, then one to the TGW.
    bad = with_inputs(rec, back, destinationCidrBlock="10.5.0.0/20")
    with pytest.raises(AwsWouldRefuse) as caught:
        refuse_what_aws_would(bad)
    assert back.name in str(caught.value) and "no subnet's CIDR" in str(caught.value)


def test_graph_checks_report_refused_routes_per_table() -> None:
    rec = synth("example-combined")
    public = next(
        t
        for t in rec.of_type("aws:ec2/routeTable:RouteTable")
        if tag(t, "spoke") == "analytics" and tag(t, "tier") == "public"
    )
    (igw_route,) = [
        r
        for r in rec.of_type(ROUTE)
        if r.inputs["routeTableId"] == public.id and "gatewayId" in r.inputs
    ]
    # The same destination twice in one table: the second CreateRoute fails.
    duplicate = replace(igw_route, urn=igw_route.urn + "-again", name=igw_route.name + "-again")
    bad = replace(rec, resources=[*rec.resources, duplicate])
    report = run_checks(graph_from_recordings([bad]))
    (finding,) = [f for f in report.findings if f.check is Check.ROUTE_TABLES]
    assert not report.ok and public.id in finding.problems[0]
    assert "second route to 0.0.0.0/0" in finding.problems[0]


def test_a_live_local_route_with_a_replaced_target_is_the_local_route() -> None:
    cidr = IPv4Network("10.1.0.0/16")
    graph = RoutingGraph(vpcs={"vpc-1": Vpc("vpc-1", [cidr])})
    graph.route_tables["rtb-1"] = RouteTable(
        "rtb-1", "vpc-1", [Route(cidr, TargetKind.VPC_ENDPOINT, "vpce-1")]
    )
    assert refusals_in_graph(graph) == []
    graph.route_tables["rtb-1"].add(Route(cidr, TargetKind.LOCAL))
    (refusal,) = refusals_in_graph(graph)  # a second one: refused
    assert (refusal.route, refusal.source) == ("10.1.0.0/16 → vpce-1", ROUTE_ALREADY_EXISTS)


# ---------------------------------------------------------------------------------------------
# Ordering and ownership (recorded dependencies and inputs)


def _of(rec: Recording, type_suffix: str) -> list[RecordedResource]:
    return [r for r in rec.resources if r.type.endswith(type_suffix)]


@pytest.mark.parametrize("which", ["example-tgw-attached", "network-account"])
def test_tgw_attached_firewall_waits_for_the_tgw_in_each_of_its_azs(which: str) -> None:
    rec = tgw_in_network_account() if which == "network-account" else synth(which)
    (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
    (attachment,) = [
        a for a in _of(rec, "vpcAttachment:VpcAttachment") if tag(a, "role") == "egress"
    ]
    assert attachment.urn in fw.dependencies
    subnets = {s.id: s.inputs["availabilityZoneId"] for s in rec.of_type("aws:ec2/subnet:Subnet")}
    attached_azs = {subnets[s] for s in attachment.inputs["subnetIds"]}
    assert {m["availabilityZoneId"] for m in fw.inputs["availabilityZoneMappings"]} <= attached_azs
    accepters = [
        a
        for a in _of(rec, "vpcAttachmentAccepter:VpcAttachmentAccepter")
        if a.inputs["transitGatewayAttachmentId"] == attachment.id
    ]
    assert all(a.urn in fw.dependencies for a in accepters)
    assert bool(accepters) == (which == "network-account")
    # Without those dependencies the check names the firewall.
    kept = tuple(d for d in fw.dependencies if d != attachment.urn and "Accepter" not in d)
    (problem,) = deploy_order.tgw_firewall_problems(patched(rec, fw, dependencies=kept))
    assert "hub-firewall" in problem.resource and "use1-az1, use1-az2" in problem.problem


@pytest.mark.parametrize(
    "stack", ["dev", "example-single-table", "example-centralized", "example-tgw-attached"]
)
def test_tgw_default_association_and_propagation_run_one_after_the_other(stack: str) -> None:
    rec = synth(stack)
    (association,) = _of(rec, "defaultRouteTableAssociation:DefaultRouteTableAssociation")
    (propagation,) = _of(rec, "defaultRouteTablePropagation:DefaultRouteTablePropagation")
    assert association.urn in propagation.dependencies
    unordered = patched(
        rec,
        propagation,
        dependencies=tuple(d for d in propagation.dependencies if d != association.urn),
    )
    (problem,) = deploy_order.tgw_modification_problems(unordered)
    assert "hub-tgw-default-propagation" in problem.resource
    assert "hub-tgw-default-association" in problem.problem


def test_attachments_to_a_tgw_of_another_account_leave_the_default_flags_unset() -> None:
    rec = tgw_in_network_account()
    flags = (
        "transitGatewayDefaultRouteTableAssociation",
        "transitGatewayDefaultRouteTablePropagation",
    )
    attachments = _of(rec, "vpcAttachment:VpcAttachment")
    assert len(attachments) == 3  # the egress VPC and both spokes
    for attachment in attachments:
        assert not any(flag in attachment.inputs for flag in flags), attachment.name
    # The owner's accepter decides: the egress VPC is associated with the default (spoke)
    # table and propagates nowhere by default.
    (egress,) = [a for a in attachments if tag(a, "role") == "egress"]
    (accepter,) = [
        a
        for a in _of(rec, "vpcAttachmentAccepter:VpcAttachmentAccepter")
        if a.inputs["transitGatewayAttachmentId"] == egress.id
    ]
    assert [accepter.inputs[k] for k in flags] == [True, False]
    # The way it was: the hub attachment carried false flags it cannot apply nor read.
    (problem,) = deploy_order.shared_tgw_flag_problems(
        with_inputs(rec, egress, **dict.fromkeys(flags, False))
    )
    assert egress.name in problem.resource and "444455556666" in problem.problem


def test_same_account_hub_attachments_still_choose_their_default_tables() -> None:
    rec = synth("dev")
    (egress,) = [a for a in _of(rec, "vpcAttachment:VpcAttachment") if tag(a, "role") == "egress"]
    assert egress.inputs["transitGatewayDefaultRouteTableAssociation"] is False
    assert egress.inputs["transitGatewayDefaultRouteTablePropagation"] is False


def test_a_lambda_environment_over_4_kb_is_refused_as_create_function_would() -> None:
    """Lambda quotas: 4 KB for all of a function's environment variables. The ET sync carries
    its settings there: 12 groups (the most the function's timeout allows) of a 100-character
    stack, a TGW-attached EXTERNAL_NET and an 80-entry ipSet are 4.3 KB, which CreateFunction
    refuses on the first `pulumi up`."""
    partners = [f"198.51.100.{i}/32" for i in range(80)]
    values = hub_config(
        model="tgw-attached",
        spokeSupernets=["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
        rules={
            "emergingThreats": {
                "enabled": True,
                "groups": 12,
                "groupCapacity": 1500,
                "ipSets": {"PARTNERS": partners},
            }
        },
    )
    with pytest.raises(AwsWouldRefuse) as caught:
        synth_config(values, stack="a" * 100)
    assert "Function hub-et-sync-function" in str(caught.value)
    assert "over 4096" in str(caught.value)
    # The same settings with fewer partners fit, and the function is declared.
    values["egress-net:rules"]["emergingThreats"]["ipSets"] = {"PARTNERS": partners[:5]}
    rec = synth_config(values, stack="a" * 100)
    (function,) = rec.of_type("aws:lambda/function:Function")
    assert lambda_environment_bytes(function.inputs["environment"]["variables"]) <= 4096


def test_an_archive_whose_file_is_missing_is_refused_as_the_cli_would(tmp_path: Any) -> None:
    import pulumi

    missing = tmp_path / "gone" / "function.zip"
    present = tmp_path / "function.py"
    present.write_text("def handler(event, context): ...\n")
    assert engine._plain(pulumi.FileArchive(str(missing))) == {"missingFile": str(missing)}
    assert engine._plain(pulumi.FileAsset(str(present))) == {"file": str(present)}

    rec = synth("prod")
    (function, *_) = rec.of_type("aws:lambda/function:Function")
    refuse_what_aws_would(with_inputs(rec, function, code={"file": str(present)}))
    with pytest.raises(AwsWouldRefuse) as caught:
        refuse_what_aws_would(with_inputs(rec, function, code={"missingFile": str(missing)}))
    assert function.name in str(caught.value)
    assert "does not exist" in str(caught.value) and str(missing) in str(caught.value)


def test_a_relative_archive_path_is_read_from_the_project_folder_not_the_callers(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI reads a relative asset or archive path from the program's working directory, the
    # project folder, wherever it was started (pulumi/pulumi sdk/go/common/resource/plugin/
    # rpc.go, EnsureHashWithWD with pkg/resource/deploy/source_eval.go's workingDirectory).
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "__main__.py").write_text(
        "import pulumi\n"
        "import pulumi_aws as aws\n"
        "aws.s3.BucketObjectv2('code', bucket='b', key='k', source=pulumi.FileArchive('f.zip'))\n"
        "aws.s3.BucketObjectv2('doc', bucket='b', key='d', source=pulumi.FileAsset('doc.txt'))\n"
    )
    (project / "f.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (project / "doc.txt").write_text("in the project\n")
    source = engine.StackSource(project, "assets", {"aws:region": "us-east-1"})
    monkeypatch.chdir(elsewhere)

    rec, _, _ = engine.run_program(source)
    sources = {
        r.name: r.inputs["source"] for r in rec.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    }
    assert sources["code"] == {
        "archive": {"sha256": hashlib.sha256(b"PK\x05\x06" + b"\0" * 18).hexdigest()}
    }
    assert sources["doc"] == {"file": "doc.txt"}

    # A file beside the caller but not in the project folder is missing to the CLI.
    (project / "doc.txt").rename(elsewhere / "doc.txt")
    with pytest.raises(AwsWouldRefuse) as caught:
        engine.run_program(source)
    assert "'doc.txt' does not exist" in str(caught.value)
