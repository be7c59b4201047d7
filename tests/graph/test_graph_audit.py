"""The live adapter and `egress-net audit` against a real moto server on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from live_factory import (
    AZ_NAMES,
    SUPERNET,
    LiveHub,
    add_ipv6,
    attach_intruder,
    build_live_firewall_after_nat,
    build_live_hub,
    withdraw_propagation,
)

from egress_net.cli import main
from egress_net.errors import ConfigError
from egress_net.graph.checks import run_checks
from egress_net.graph.from_aws import (
    READ_ONLY_PREFIXES,
    AccountSource,
    WriteRefused,
    read_graph,
    session_for,
)

SOURCE = AccountSource("us-east-1")


def audit(url: str, *extra: str) -> int:
    return main(["audit", "--region", "us-east-1", "--endpoint-url", url, *extra])


def live_report(url: str) -> Any:
    return run_checks(read_graph([SOURCE], endpoint_url=url))


def problems(report: Any) -> list[str]:
    return [p for f in report.findings for p in f.problems]


def replace_route(hub: LiveHub, table: str, destination: str, **target: str) -> None:
    # Delete and create: moto's ReplaceRoute ignores VpcEndpointId.
    hub.ec2.delete_route(RouteTableId=hub[table], DestinationCidrBlock=destination)
    hub.ec2.create_route(RouteTableId=hub[table], DestinationCidrBlock=destination, **target)


def test_correct_hub_and_spokes_audits_clean(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    build_live_hub(aws["ec2"], aws["nfw"])

    assert audit(aws["url"]) == 0

    out = capsys.readouterr().out
    assert (
        "Instance(az6) → TGW → Network Firewall(az6) → NAT gateway(az6) → Internet gateway" in out
    )
    assert "all checks pass" in out


def test_endpoints_are_placed_by_subnet_not_by_az_name(aws: dict[str, Any]) -> None:
    hub = build_live_hub(aws["ec2"], aws["nfw"])
    graph = read_graph([SOURCE], endpoint_url=aws["url"])

    for i, _ in enumerate(AZ_NAMES):
        endpoint = graph.firewall_endpoints[hub[f"vpce:{i}"]]
        assert endpoint.az_id == graph.subnets[hub[f"subnet:hub:firewall:{i}"]].az_id


def _missing_return_route(hub: LiveHub) -> None:
    hub.ec2.delete_route(RouteTableId=hub["rt:hub:public:0"], DestinationCidrBlock=SUPERNET)


def _cross_az_endpoint(hub: LiveHub) -> None:
    replace_route(hub, "rt:hub:tgw:0", "0.0.0.0/0", VpcEndpointId=hub["vpce:1"])


def _spoke_igw(hub: LiveHub) -> None:
    igw = hub.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    hub.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=hub["vpc:alpha"])
    replace_route(hub, "rt:alpha:workload:0", "0.0.0.0/0", GatewayId=igw)


def _missing_nat(hub: LiveHub) -> None:
    hub.ec2.delete_nat_gateway(NatGatewayId=hub["nat:1"])


def _wrong_association(hub: LiveHub) -> None:
    hub.ec2.disassociate_transit_gateway_route_table(
        TransitGatewayRouteTableId=hub["tgwrt:egress"], TransitGatewayAttachmentId=hub["att:egress"]
    )
    hub.ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=hub["tgwrt:spokes"], TransitGatewayAttachmentId=hub["att:egress"]
    )


def _missing_propagation(hub: LiveHub) -> None:
    withdraw_propagation(hub, hub["tgwrt:egress"], hub["att:alpha"], "10.1.0.0/16")


def _blackhole(hub: LiveHub) -> None:
    hub.ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=hub["tgwrt:spokes"],
        DestinationCidrBlock="0.0.0.0/0",
        Blackhole=True,
    )


def _loop(hub: LiveHub) -> None:
    replace_route(hub, "rt:hub:firewall:0", "0.0.0.0/0", TransitGatewayId=hub["tgw"])
    hub.ec2.create_transit_gateway_route(
        TransitGatewayRouteTableId=hub["tgwrt:egress"],
        DestinationCidrBlock="0.0.0.0/0",
        TransitGatewayAttachmentId=hub["att:egress"],
    )


def _partial_prefix_igw(hub: LiveHub) -> None:
    igw = hub.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    hub.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=hub["vpc:alpha"])
    hub.ec2.create_route(
        RouteTableId=hub["rt:alpha:workload:0"], DestinationCidrBlock="52.0.0.0/8", GatewayId=igw
    )


def _ipv6_bypass(hub: LiveHub) -> None:
    add_ipv6(hub, "alpha")
    eigw = hub.ec2.create_egress_only_internet_gateway(VpcId=hub["vpc:alpha"])
    hub.ec2.create_route(
        RouteTableId=hub["rt:alpha:workload:0"],
        DestinationIpv6CidrBlock="::/0",
        EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGateway"][
            "EgressOnlyInternetGatewayId"
        ],
    )


def _overlapping_attachment(hub: LiveHub) -> None:
    attach_intruder(hub, "10.1.200.0/24")


def _main_table_igw(hub: LiveHub) -> None:
    # A new subnet without an association uses its VPC's main table, which goes to an IGW.
    subnet = hub.ec2.create_subnet(
        VpcId=hub["vpc:alpha"], CidrBlock="10.1.240.0/24", AvailabilityZone=AZ_NAMES[0]
    )["Subnet"]["SubnetId"]
    assert subnet
    igw = hub.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    hub.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=hub["vpc:alpha"])
    (main_table,) = hub.ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [hub["vpc:alpha"]]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    hub.ec2.create_route(
        RouteTableId=main_table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw
    )


def _prefix_list_to_peering(hub: LiveHub) -> None:
    listed = hub.ec2.create_managed_prefix_list(
        PrefixListName="partners",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[{"Cidr": "52.0.0.0/8"}, {"Cidr": "54.0.0.0/8"}],
    )["PrefixList"]["PrefixListId"]
    other = hub.ec2.create_vpc(CidrBlock="192.168.0.0/16")["Vpc"]["VpcId"]
    peering = hub.ec2.create_vpc_peering_connection(VpcId=hub["vpc:alpha"], PeerVpcId=other)
    hub.ec2.create_route(
        RouteTableId=hub["rt:alpha:workload:0"],
        DestinationPrefixListId=listed,
        VpcPeeringConnectionId=peering["VpcPeeringConnection"]["VpcPeeringConnectionId"],
    )


LIVE_FAULTS: list[tuple[str, Callable[[LiveHub], None], str]] = [
    ("missing return route", _missing_return_route, "reply does not come back"),
    ("AZ pointed at another AZ's endpoint", _cross_az_endpoint, "changes AZ"),
    ("spoke with its own 0/0 to an IGW", _spoke_igw, "bypass"),
    ("missing NAT in one AZ", _missing_nat, "no NAT gateway in"),
    ("egress attachment on the wrong TGW table", _wrong_association, "routing loop"),
    ("missing TGW propagation", _missing_propagation, "reply no-route"),
    ("blackhole on the path", _blackhole, "outbound blackhole"),
    ("routing loop", _loop, "routing loop"),
    (
        "partial prefix to the spoke's own IGW",
        _partial_prefix_igw,
        "52.0.0.0/8: bypass: Instance(az6) → Internet gateway (no firewall)",
    ),
    (
        "IPv6 default route to an egress-only gateway",
        _ipv6_bypass,
        "→ Egress-only internet gateway",
    ),
    (
        "attachment overlapping a spoke",
        _overlapping_attachment,
        "overlaps 10.1.0.0/16 → tgw-attach-",
    ),
    ("subnet on the VPC's main table, which goes to an IGW", _main_table_igw, "bypass"),
    (
        "prefix list to a peering",
        _prefix_list_to_peering,
        "52.0.0.0/8, 54.0.0.0/8: bypass: Instance(az6) → VPC peering",
    ),
]


@pytest.mark.parametrize(("fault", "seed", "reason"), LIVE_FAULTS, ids=[f[0] for f in LIVE_FAULTS])
def test_each_live_fault_is_reported(
    aws: dict[str, Any],
    fault: str,
    seed: Callable[[LiveHub], None],
    reason: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = build_live_hub(aws["ec2"], aws["nfw"])
    seed(hub)

    assert audit(aws["url"], "--json") == 1

    report = json.loads(capsys.readouterr().out)
    assert not report["ok"]
    found = [p for f in report["findings"] for p in f["problems"]]
    assert any(reason in p for p in found), (fault, found)


def test_audit_makes_only_read_calls(aws: dict[str, Any]) -> None:
    build_live_hub(aws["ec2"], aws["nfw"])
    operations: list[str] = []

    def recording_session(source: AccountSource) -> boto3.Session:
        session = session_for(source)
        session.events.register("before-call.*.*", lambda model, **_: operations.append(model.name))
        return session

    report = run_checks(
        read_graph([SOURCE], endpoint_url=aws["url"], session_factory=recording_session)
    )

    assert report.ok
    assert {"DescribeRouteTables", "SearchTransitGatewayRoutes", "DescribeFirewall"} <= set(
        operations
    )
    assert all(op.startswith(READ_ONLY_PREFIXES) for op in operations), operations
    # Every call audit makes is in the IAM policy the README and the docs tell users to grant.
    from pathlib import Path

    from egress_net.graph.from_aws import REQUIRED_ACTIONS

    granted = {action.split(":", 1)[1] for action in REQUIRED_ACTIONS}
    assert set(operations) <= granted, set(operations) - granted
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text()
    assert all(f"`{action}`" in readme for action in REQUIRED_ACTIONS)
    # The ready policy in the docs is exactly the list the guard admits.
    docs = (repo / "docs" / "verification.md").read_text()
    policy = json.loads(docs.split("```json", 1)[1].split("```", 1)[0])
    assert sorted(policy["Statement"][0]["Action"]) == sorted(REQUIRED_ACTIONS)


def test_write_calls_are_refused_by_the_adapters_clients(aws: dict[str, Any]) -> None:
    from egress_net.graph.from_aws import _client, guarded

    session = guarded(boto3.Session(region_name="us-east-1"))
    reader = _client(session, "ec2", SOURCE, aws["url"])

    with pytest.raises(WriteRefused, match="ec2:CreateVpc"):
        reader.client.create_vpc(CidrBlock="10.9.0.0/16")
    assert (
        aws["ec2"].describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.9.0.0/16"]}])["Vpcs"]
        == []
    )


@pytest.mark.parametrize(
    ("service", "call", "kwargs"),
    [
        ("ec2", "get_password_data", {"InstanceId": "i-0123456789abcdef0"}),
        ("ec2", "get_console_output", {"InstanceId": "i-0123456789abcdef0"}),
        ("ec2", "describe_instances", {}),
        ("network-firewall", "describe_rule_group", {"RuleGroupName": "x", "Type": "STATEFUL"}),
    ],
)
def test_reads_audit_does_not_need_are_refused_on_the_session(
    aws: dict[str, Any], service: str, call: str, kwargs: dict[str, Any]
) -> None:
    from egress_net.graph.from_aws import guarded

    # The guard sits on the session: any client made from it, by any code, carries it.
    client = guarded(boto3.Session(region_name="us-east-1")).client(
        service, endpoint_url=aws["url"]
    )

    with pytest.raises(WriteRefused, match="audit only reads what it needs"):
        getattr(client, call)(**kwargs)


def test_missing_permission_names_the_action_and_the_policy(aws: dict[str, Any]) -> None:
    def denied_session(source: AccountSource) -> boto3.Session:
        session = session_for(source)

        def deny(model: Any, **_: Any) -> Any:
            if model.name == "SearchTransitGatewayRoutes":
                error = {
                    "Error": {"Code": "UnauthorizedOperation", "Message": "not allowed"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                }
                return AWSResponse("", 403, {}, None), error
            return None

        session.events.register("before-call.ec2.SearchTransitGatewayRoutes", deny)
        return session

    build_live_hub(aws["ec2"], aws["nfw"])
    with pytest.raises(ConfigError) as caught:
        read_graph([SOURCE], endpoint_url=aws["url"], session_factory=denied_session)

    assert "ec2:SearchTransitGatewayRoutes" in caught.value.where
    assert caught.value.problem == "access denied"
    assert "network-firewall:DescribeFirewall" in caught.value.hint


def test_unknown_profile_is_a_clear_error(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit(aws["url"], "--profile", "no-such-profile") == 2
    assert "--profile no-such-profile: no such AWS profile" in capsys.readouterr().err


def test_malformed_role_arn_is_a_clear_error(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit(aws["url"], "--role-arn", "egress-audit") == 2
    assert "is not an IAM role ARN" in capsys.readouterr().err


def test_assumed_role_reads_the_account(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_live_hub(aws["ec2"], aws["nfw"])
    # STS must be reached at the moto server as well.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", aws["url"])
    role = "arn:aws:iam::123456789012:role/egress-net-audit"

    graph = read_graph([AccountSource("us-east-1", role_arn=role)], endpoint_url=aws["url"])

    assert run_checks(graph).ok


def test_a_profile_that_assumes_a_role_reads_the_account(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # The usual way to audit another account: a profile with role_arn and source_profile.
    # botocore fetches its credentials through an STS client made from the audit's session,
    # so the guard must not be in place yet when they are resolved.
    build_live_hub(aws["ec2"], aws["nfw"])
    config = tmp_path / "config"
    config.write_text(
        "[profile base]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        "[profile audit]\nrole_arn = arn:aws:iam::123456789012:role/egress-net-audit\n"
        "source_profile = base\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", aws["url"])
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    graph = read_graph([AccountSource("us-east-1", profile="audit")], endpoint_url=aws["url"])

    assert run_checks(graph).ok
    # Once read, the session still refuses what the audit does not need.
    from egress_net.graph.from_aws import guarded

    session = guarded(boto3.Session(profile_name="audit", region_name="us-east-1"))
    with pytest.raises(WriteRefused, match="ec2:CreateVpc"):
        session.client("ec2", endpoint_url=aws["url"]).create_vpc(CidrBlock="10.9.0.0/16")


def test_a_tgw_prefix_list_reference_to_a_vpn_is_a_bypass(aws: dict[str, Any]) -> None:
    # The spokes' TGW table sends a prefix list (52.0.0.0/8) to a VPN attachment. moto has no
    # prefix-list references nor VPN attachments, so the answers AWS would give are added to
    # moto's: the reference in SearchTransitGatewayRoutes, the attachment in its listing.
    hub = build_live_hub(aws["ec2"], aws["nfw"])
    listed = aws["ec2"].create_managed_prefix_list(
        PrefixListName="partners",
        AddressFamily="IPv4",
        MaxEntries=5,
        Entries=[{"Cidr": "52.0.0.0/8"}],
    )["PrefixList"]["PrefixListId"]
    vpn = "tgw-attach-0123456789abcdef0"

    def remember_table(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["table"] = params.get("TransitGatewayRouteTableId")
        context["type"] = [f["Values"] for f in params.get("Filters") or [] if f["Name"] == "type"]

    def add_reference(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("table") == hub["tgwrt:spokes"] and context.get("type") == [["static"]]:
            parsed.setdefault("Routes", []).append(
                {
                    "PrefixListId": listed,
                    "TransitGatewayAttachments": [
                        {"TransitGatewayAttachmentId": vpn, "ResourceType": "vpn"}
                    ],
                    "Type": "static",
                    "State": "active",
                }
            )

    def add_vpn(parsed: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("TransitGatewayAttachments", []).append(
            {
                "TransitGatewayAttachmentId": vpn,
                "TransitGatewayId": hub["tgw"],
                "ResourceType": "vpn",
                "State": "available",
            }
        )

    def with_answers(source: AccountSource) -> boto3.Session:
        session = session_for(source)
        session.events.register(
            "before-parameter-build.ec2.SearchTransitGatewayRoutes", remember_table
        )
        session.events.register("after-call.ec2.SearchTransitGatewayRoutes", add_reference)
        session.events.register("after-call.ec2.DescribeTransitGatewayAttachments", add_vpn)
        return session

    graph = read_graph([SOURCE], endpoint_url=aws["url"], session_factory=with_answers)
    found = problems(run_checks(graph))

    assert any(
        p.startswith("52.0.0.0/8: bypass:") and vpn in p and p.endswith("(no firewall)")
        for p in found
    ), found


def test_several_regions_are_read_and_merged(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    build_live_hub(aws["ec2"], aws["nfw"])
    # A spoke in another region that breaks out through its own Internet gateway.
    west = boto3.client("ec2", endpoint_url=aws["url"], region_name="eu-west-1")
    vpc = west.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = west.create_subnet(
        VpcId=vpc,
        CidrBlock="10.30.0.0/24",
        AvailabilityZone="eu-west-1a",
        TagSpecifications=[
            {"ResourceType": "subnet", "Tags": [{"Key": "egress-net:tier", "Value": "workload"}]}
        ],
    )["Subnet"]["SubnetId"]
    igw = west.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    west.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = west.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    west.associate_route_table(RouteTableId=table, SubnetId=subnet)
    west.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)

    assert audit(aws["url"], "--region", "eu-west-1", "--json") == 1

    report = json.loads(capsys.readouterr().out)
    cells = {s["vpcId"]: s["azs"] for s in report["spokes"]}
    assert len(cells) == 3  # alpha and beta in us-east-1, the rogue VPC in eu-west-1
    (rogue,) = cells[vpc].values()
    assert any(
        p.startswith(f"bypass: reaches the internet through {igw}") for p in rogue["problems"]
    )
    egress = [f for f in report["findings"] if f["check"] == "egress"]
    assert len(egress) == 5
    assert all(f["ok"] for f in egress if f["subnetId"] != subnet)


def test_every_account_is_read_in_every_region() -> None:
    from egress_net.cli import build_parser
    from egress_net.commands.audit import sources_from

    args = build_parser().parse_args(
        [
            "audit",
            "--profile",
            "hub",
            "--role-arn",
            "arn:aws:iam::210987654321:role/audit",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
        ]
    )

    assert sources_from(args) == [
        AccountSource("us-east-1", profile="hub"),
        AccountSource("eu-west-1", profile="hub"),
        AccountSource("us-east-1", role_arn="arn:aws:iam::210987654321:role/audit"),
        AccountSource("eu-west-1", role_arn="arn:aws:iam::210987654321:role/audit"),
    ]


def test_igw_ingress_routing_is_read_from_the_gateway_association(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    build_live_firewall_after_nat(aws["ec2"], aws["nfw"])

    assert audit(aws["url"]) == 0

    out = capsys.readouterr().out
    assert "Instance(az6) → NAT gateway(az6) → Network Firewall(az6) → Internet gateway" in out
    assert "Internet gateway → Network Firewall(az6) → NAT gateway(az6) → Instance(az6)" in out


def test_without_ingress_routing_the_reply_bypass_is_reported(aws: dict[str, Any]) -> None:
    build_live_firewall_after_nat(aws["ec2"], aws["nfw"], ingress_routing=False)

    assert problems(live_report(aws["url"])) == ["reply bypasses the firewall"]


def test_the_live_hub_carries_no_egress_net_tag(aws: dict[str, Any]) -> None:
    build_live_hub(aws["ec2"], aws["nfw"])

    tags = aws["ec2"].describe_tags()["Tags"]

    assert tags and not [t for t in tags if t["Key"].startswith("egress-net:")]
    assert run_checks(read_graph([SOURCE], endpoint_url=aws["url"])).ok


def test_ipv6_blocks_routes_and_egress_only_gateways_are_read(aws: dict[str, Any]) -> None:
    hub = build_live_hub(aws["ec2"], aws["nfw"])
    _ipv6_bypass(hub)

    graph = read_graph([SOURCE], endpoint_url=aws["url"])

    assert any(c.version == 6 for c in graph.vpcs[hub["vpc:alpha"]].cidrs)
    assert graph.subnets[hub["subnet:alpha:workload:0"]].ipv6_cidr is not None
    (eigw,) = graph.egress_only_gateways.values()
    assert eigw.vpc_id == hub["vpc:alpha"]
    (route,) = [
        r
        for r in graph.route_tables[hub["rt:alpha:workload:0"]].routes
        if r.destination.version == 6 and r.destination.prefixlen == 0
    ]
    assert route.target_id == eigw.id


def test_a_spoke_with_ipv6_and_no_route_out_is_listed(aws: dict[str, Any]) -> None:
    hub = build_live_hub(aws["ec2"], aws["nfw"])
    add_ipv6(hub, "alpha")

    report = live_report(aws["url"])

    assert report.ok
    assert any("IPv6 internet" in line and "no-route" in line for line in report.listing)


def test_drift_between_two_reads_names_what_changed(aws: dict[str, Any]) -> None:
    from egress_net.graph.drift import drift_findings

    hub = build_live_hub(aws["ec2"], aws["nfw"])
    before = read_graph([SOURCE], endpoint_url=aws["url"])
    _cross_az_endpoint(hub)
    _missing_propagation(hub)
    hub.ec2.modify_transit_gateway_vpc_attachment(
        TransitGatewayAttachmentId=hub["att:egress"], Options={"ApplianceModeSupport": "disable"}
    )

    (drift,) = drift_findings(before, read_graph([SOURCE], endpoint_url=aws["url"]))

    text = "\n".join(drift.problems)
    assert (
        "changed: route table of 10.0.0.0/24 (in VPC 10.0.0.0/16): route 0.0.0.0/0 → "
        "firewall endpoint in 10.0.11.0/24, declared firewall endpoint in 10.0.10.0/24" in text
    )
    assert "propagation from attachment of VPC 10.1.0.0/16 → enabled" in text
    assert "attachment of VPC 10.0.0.0/16: appliance mode → off, declared on" in text


def test_audit_against_a_stack_reports_foreign_attachments(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from egress_net.commands import audit as audit_command

    hub = build_live_hub(aws["ec2"], aws["nfw"])
    declared = read_graph([SOURCE], endpoint_url=aws["url"])
    # The stack's synthesis stands in as the network read before anything changed.
    monkeypatch.setattr(audit_command, "declared", lambda stacks, project_dir: (declared, {}))
    attach_intruder(hub, "10.1.200.0/24")

    assert audit(aws["url"], "--stack", "dev", "--json") == 1

    report = json.loads(capsys.readouterr().out)
    checks = {f["check"]: f["problems"] for f in report["findings"] if not f["ok"]}
    assert any(
        "10.1.200.0/24 → tgw-attach-" in p and "not a declared spoke" in p
        for p in checks["attachment"]
    )
    # The intruder's own VPC is not the stack's: its resources are not drift, its route is.
    assert "drift" not in checks


def test_an_ipv6_only_subnet_fails_the_audit_instead_of_passing_unseen(aws: dict[str, Any]) -> None:
    hub = build_live_hub(aws["ec2"], aws["nfw"])
    add_ipv6(hub, "alpha")
    block = aws["ec2"].describe_vpcs(VpcIds=[hub["vpc:alpha"]])["Vpcs"][0][
        "Ipv6CidrBlockAssociationSet"
    ][0]["Ipv6CidrBlock"]
    head = block.split("::")[0].rsplit(":", 1)
    subnet = aws["ec2"].create_subnet(
        VpcId=hub["vpc:alpha"],
        Ipv6Native=True,
        Ipv6CidrBlock=f"{head[0]}:{int(head[1], 16) + 0x80:x}::/64",
        AvailabilityZone=AZ_NAMES[0],
    )["Subnet"]["SubnetId"]

    found = problems(live_report(aws["url"]))

    assert any(p.startswith(f"IPv6-only subnet {subnet}") for p in found), found
