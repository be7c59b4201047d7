"""Every deployment model and placement, as the program declares it (structure).

Path-level proof (every spoke × AZ traced out and back) lives in tests/test_model_paths.py.
"""

from __future__ import annotations

from functools import cache

import pytest

from egress_net import engine, intent
from egress_net.recording import RecordedResource, Recording

from .conftest import REPO

EXAMPLES = [
    "example-after-nat",
    "example-single-table",
    "example-centralized",
    "example-distributed",
    "example-combined",
    "example-tgw-attached",
]
TGW = "aws:ec2transitgateway/"


@cache
def synth(stack: str) -> Recording:
    return engine.synth_stack(stack, REPO)


def _tags(r: RecordedResource) -> dict[str, str]:
    return dict(r.inputs.get("tags") or {})


def _vpc_by_role(rec: Recording, role: str) -> RecordedResource:
    (vpc,) = [v for v in rec.of_type("aws:ec2/vpc:Vpc") if _tags(v).get("egress-net:role") == role]
    return vpc


def _attachment_of(rec: Recording, vpc: RecordedResource) -> RecordedResource:
    (att,) = [
        a for a in rec.of_type(TGW + "vpcAttachment:VpcAttachment") if a.inputs["vpcId"] == vpc.id
    ]
    return att


def test_every_model_is_covered_by_an_example() -> None:
    models = {synth(s).config.get("egress-net:model", "egress-only") for s in EXAMPLES}
    assert models | {"egress-only"} == set(intent.MODELS)


def test_centralized_inspection_has_two_vpcs_and_appliance_mode_on_inspection() -> None:
    rec = synth("example-centralized")
    inspection, egress = _vpc_by_role(rec, "inspection"), _vpc_by_role(rec, "egress")
    assert _attachment_of(rec, inspection).inputs["applianceModeSupport"] == "enable"
    assert _attachment_of(rec, egress).inputs["applianceModeSupport"] == "disable"
    (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
    assert fw.inputs["vpcId"] == inspection.id
    nat_subnets = {n.inputs["subnetId"] for n in rec.of_type("aws:ec2/natGateway:NatGateway")}
    assert {rec.by_id()[s].inputs["vpcId"] for s in nat_subnets} == {egress.id}
    tables = {
        _tags(t)["egress-net:tgw-table"]: t.id for t in rec.of_type(TGW + "routeTable:RouteTable")
    }
    assert set(tables) == {"spoke", "firewall"}
    routes = {
        (r.inputs["transitGatewayRouteTableId"], r.inputs["destinationCidrBlock"]): r.inputs[
            "transitGatewayAttachmentId"
        ]
        for r in rec.of_type(TGW + "route:Route")
    }
    assert routes == {
        (tables["spoke"], "0.0.0.0/0"): _attachment_of(rec, inspection).id,
        (tables["firewall"], "0.0.0.0/0"): _attachment_of(rec, egress).id,
    }


def test_tgw_attached_firewall_uses_az_ids_and_its_own_attachment() -> None:
    rec = synth("example-tgw-attached")
    (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
    (tgw,) = rec.of_type(TGW + "transitGateway:TransitGateway")
    assert fw.inputs["transitGatewayId"] == tgw.id
    assert [m["availabilityZoneId"] for m in fw.inputs["availabilityZoneMappings"]] == [
        "use1-az1",
        "use1-az2",
    ]
    assert "subnetMappings" not in fw.inputs and "vpcId" not in fw.inputs
    fw_attachment = fw.outputs["firewallStatuses"][0]["transitGatewayAttachmentSyncStates"][0][
        "attachmentId"
    ]
    (assoc,) = [
        a
        for a in rec.of_type(TGW + "routeTableAssociation:RouteTableAssociation")
        if a.inputs["transitGatewayAttachmentId"] == fw_attachment
    ]
    assert assoc.inputs["replaceExistingAssociation"] is True
    spoke_default = [
        r
        for r in rec.of_type(TGW + "route:Route")
        if r.inputs["transitGatewayAttachmentId"] == fw_attachment
    ]
    assert (
        len(spoke_default) == 1 and spoke_default[0].inputs["destinationCidrBlock"] == "0.0.0.0/0"
    )


def test_distributed_has_a_firewall_nat_and_igw_per_spoke_and_no_tgw() -> None:
    rec = synth("example-distributed")
    assert not [r for r in rec.resources if r.type.startswith(TGW)]
    spokes = [v for v in rec.of_type("aws:ec2/vpc:Vpc")]
    assert sorted(_tags(v)["egress-net:spoke"] for v in spokes) == ["app", "data"]
    firewalls = rec.of_type("aws:networkfirewall/firewall:Firewall")
    assert sorted(f.inputs["vpcId"] for f in firewalls) == sorted(v.id for v in spokes)
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    assert {f.inputs["firewallPolicyArn"] for f in firewalls} == {policy.id}  # one shared policy
    igws = rec.of_type("aws:ec2/internetGateway:InternetGateway")
    assert sorted(i.inputs["vpcId"] for i in igws) == sorted(v.id for v in spokes)
    assert len(rec.of_type("aws:ec2/natGateway:NatGateway")) == 2 * 2
    assert rec.outputs["transitGatewayId"] is None and rec.outputs["egressVpcId"] is None


def test_combined_mixes_tgw_and_distributed_spokes() -> None:
    rec = synth("example-combined")
    assert rec.outputs["spokes"]["app"]["model"] == "tgw"
    assert rec.outputs["spokes"]["analytics"]["model"] == "distributed"
    assert rec.outputs["spokes"]["analytics"]["attachmentId"] is None
    analytics = rec.outputs["spokes"]["analytics"]["vpcId"]
    assert analytics not in {
        a.inputs["vpcId"] for a in rec.of_type(TGW + "vpcAttachment:VpcAttachment")
    }
    assert len(rec.of_type("aws:networkfirewall/firewall:Firewall")) == 2


def test_after_nat_steers_replies_through_an_igw_edge_route_table() -> None:
    rec = synth("example-after-nat")
    (edge_assoc,) = [
        a
        for a in rec.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if a.inputs.get("gatewayId")
    ]
    (igw,) = rec.of_type("aws:ec2/internetGateway:InternetGateway")
    assert edge_assoc.inputs["gatewayId"] == igw.id
    edge_routes = [
        r
        for r in rec.of_type("aws:ec2/route:Route")
        if r.inputs["routeTableId"] == edge_assoc.inputs["routeTableId"]
    ]
    nat_subnets = {
        rec.by_id()[n.inputs["subnetId"]].inputs["cidrBlock"]
        for n in rec.of_type("aws:ec2/natGateway:NatGateway")
    }
    assert {r.inputs["destinationCidrBlock"] for r in edge_routes} == nat_subnets
    assert all("vpcEndpointId" in r.inputs for r in edge_routes)
    # The firewall sees NAT addresses: HOME_NET includes the egress VPC.
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    home_net = policy.inputs["firewallPolicy"]["policyVariables"]["ruleVariables"][0]["ipSet"][
        "definitions"
    ]
    assert "100.64.0.0/24" in home_net


def test_single_table_variant_puts_everything_on_one_table() -> None:
    rec = synth("example-single-table")
    (table,) = rec.of_type(TGW + "routeTable:RouteTable")
    (assoc_default,) = rec.of_type(
        TGW + "defaultRouteTableAssociation:DefaultRouteTableAssociation"
    )
    (prop_default,) = rec.of_type(TGW + "defaultRouteTablePropagation:DefaultRouteTablePropagation")
    assert (
        assoc_default.inputs["transitGatewayRouteTableId"]
        == prop_default.inputs["transitGatewayRouteTableId"]
        == table.id
    )


@pytest.mark.parametrize("stack", EXAMPLES)
def test_every_example_synthesizes_with_all_resources_parented(stack: str) -> None:
    rec = synth(stack)
    components = {r.urn for r in rec.resources if r.type.startswith("egress-net:index:")}
    for r in rec.resources:
        if not r.type.startswith(("egress-net:index:", "pulumi:")):
            assert r.parent in components, r.name


def test_tgw_attached_rule_groups_set_home_net_and_external_net_explicitly() -> None:
    import ipaddress

    rec = synth("example-tgw-attached")
    groups = rec.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    assert groups
    for group in groups:
        sets = {
            s["key"]: s["ipSet"]["definitions"]
            for s in group.inputs["ruleGroup"]["ruleVariables"]["ipSets"]
        }
        assert sets["HOME_NET"] == ["10.0.0.0/8"]
        external = [ipaddress.IPv4Network(n) for n in sets["EXTERNAL_NET"]]
        assert sum(n.num_addresses for n in external) == 2**32 - 2**24
        assert not any(n.overlaps(ipaddress.IPv4Network("10.0.0.0/8")) for n in external)


@pytest.mark.parametrize(
    "rules",
    [
        {
            "suricataRules": [
                'drop tcp 10.1.0.0/16 any -> $EXTERNAL_NET 22 (msg:"ssh"; sid:7; rev:1;)'
            ]
        },
        {
            "fiveTupleRules": [
                {
                    "action": "DROP",
                    "protocol": "TCP",
                    "source": "10.1.0.0/16",
                    "destinationPort": "22",
                }
            ]
        },
    ],
)
def test_after_nat_refuses_source_scoped_rules_before_declaring_anything(rules: dict) -> None:
    from egress_net.errors import EgressNetError

    from .conftest import hub_config, synth_config

    with pytest.raises(EgressNetError) as caught:
        synth_config(hub_config(placement="after-nat", rules=rules))
    text = str(caught.value)
    assert "NAT" in text and "10.1.0.0/16" in text
    assert [r.type for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


def test_tgw_in_a_network_account_accepts_the_firewall_and_vpc_attachments() -> None:
    from egress_net.commands.verify import intent_from_config
    from egress_net.graph.checks import CheckOptions, run_checks
    from egress_net.graph.from_recording import graph_from_recordings

    from .conftest import hub_config, synth_config

    role = "arn:aws:iam::444455556666:role/network-admin"
    rec = synth_config(hub_config(model="tgw-attached", transitGateway={"ownerRoleArn": role}))
    (owner,) = [
        p
        for p in rec.of_type("pulumi:providers:aws")
        if p.inputs["assumeRoles"][0]["roleArn"] == role
    ]
    (tgw,) = rec.of_type(TGW + "transitGateway:TransitGateway")
    assert tgw.provider.startswith(owner.urn) and tgw.outputs["ownerId"] == "444455556666"
    (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
    assert fw.provider is None  # the firewall stays in the stack's account
    fw_attachment = fw.outputs["firewallStatuses"][0]["transitGatewayAttachmentSyncStates"][0][
        "attachmentId"
    ]
    (fw_accepter,) = rec.of_type(
        "aws:networkfirewall/firewallTransitGatewayAttachmentAccepter:FirewallTransitGatewayAttachmentAccepter"
    )
    assert fw_accepter.inputs["transitGatewayAttachmentId"] == fw_attachment
    assert fw_accepter.provider.startswith(owner.urn)
    accepters = rec.of_type(TGW + "vpcAttachmentAccepter:VpcAttachmentAccepter")
    # The hub's egress VPC and both same-account spokes attach across accounts now.
    assert len(accepters) == 3 and all(a.provider.startswith(owner.urn) for a in accepters)
    # The TGW is shared back to the hub's own account, and associations wait for acceptance.
    principals = [
        p.inputs["principal"]
        for p in rec.of_type("aws:ram/principalAssociation:PrincipalAssociation")
    ]
    assert principals == [rec.account]  # the account the hub stack's credentials are for
    (assoc,) = [
        a
        for a in rec.of_type(TGW + "routeTableAssociation:RouteTableAssociation")
        if a.inputs["transitGatewayAttachmentId"] == fw_attachment
    ]
    assert fw_accepter.urn in assoc.dependencies
    report = run_checks(
        graph_from_recordings([rec]), CheckOptions(spoke_to_spoke=intent_from_config(rec.config))
    )
    assert report.ok, [p for f in report.findings for p in f.problems]
