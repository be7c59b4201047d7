"""Who may attach to the Transit Gateway, and whose replies come back: rogue attachments."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest

from egress_net import engine, intent
from egress_net.errors import ConfigError
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.graph.ingress import apps_from_recordings, check_ingress
from egress_net.program import spoke_standing
from egress_net.recording import Recording

from .conftest import hub_config, synth_config
from .graph.graph_factory import added, new_resource

TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
ACCEPTER = "aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
DEFAULT_PROPAGATION = (
    "aws:ec2transitgateway/defaultRouteTablePropagation:DefaultRouteTablePropagation"
)
ORG = "arn:aws:organizations::111122223333:organization/o-exampleorgid"
OU = "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-ab12-cd34ef56"
OTHER_ACCOUNT = "444455556666"


# --- the TGW plan: propagation or static routes ----------------------------------------------


def test_static_return_routes_are_the_default_on_a_shared_tgw_only() -> None:
    assert intent.return_routes(None, shared=True) == "static"
    assert intent.return_routes(None, shared=False) == "propagated"
    assert intent.return_routes("propagated", shared=True) == "propagated"
    assert intent.return_routes("static", shared=False) == "static"


@pytest.mark.parametrize(
    "plan",
    [
        intent.tgw_egress_only(),
        intent.tgw_egress_only(single_table=True),
        intent.tgw_egress_only(blocked=["10.0.0.0/8"]),
        intent.tgw_inspection("inspection"),
        intent.tgw_inspection("firewall"),
    ],
    ids=["two-tables", "single-table", "blocked", "centralized", "tgw-attached"],
)
def test_static_return_routes_replace_propagation_in_the_table_replies_use(
    plan: intent.TgwPlan,
) -> None:
    assert plan.propagates_by_default
    spokes = [("app", "10.1.0.0/16"), ("data", "10.2.0.0/16")]
    static = intent.with_static_return_routes(plan, spokes)
    assert not static.propagates_by_default
    (returns,) = [t for t in plan.tables if "new-attachments" in t.propagate]
    assert static.static_return_table == returns.name
    for before, after in zip(plan.tables, static.tables, strict=True):
        added_routes = after.routes[len(before.routes) :]
        assert after.routes[: len(before.routes)] == before.routes
        assert after.associate == before.associate
        if before is returns:
            assert [(r.destination, r.attachment) for r in added_routes] == [
                ("10.1.0.0/16", "spoke:app"),
                ("10.2.0.0/16", "spoke:data"),
            ]
            assert [intent.spoke_of(r.attachment) for r in added_routes] == ["app", "data"]
        else:
            assert after == before


# --- refusing an organization-wide auto-accept -----------------------------------------------


@pytest.mark.parametrize("principal", [ORG, OU])
def test_drop_mode_refuses_auto_accept_from_a_whole_organization_or_ou(principal: str) -> None:
    with pytest.raises(ConfigError) as caught:
        synth_config(
            hub_config(share={"principals": [principal]}, transitGateway={"autoAccept": True})
        )
    text = str(caught.value)
    assert "egress-net:transitGateway.autoAccept" in text and principal in text
    assert "egress-net:spokeStacks" in text and "acceptAnyAccountAttachment" in text
    assert [r for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"transitGateway": {"autoAccept": True, "acceptAnyAccountAttachment": True}},
        {"transitGateway": {"autoAccept": True}, "firewall": {"mode": "alert"}},
        {"transitGateway": {"autoAccept": False}},
    ],
    ids=["acknowledged", "alert-mode", "manual-acceptance"],
)
def test_organization_sharing_is_accepted_when_acknowledged_or_reviewed(
    overrides: dict[str, Any],
) -> None:
    rec = synth_config(hub_config(share={"principals": [ORG]}, **overrides))
    assert rec.outputs["returnRoutes"] == "static"


def test_auto_accept_with_account_principals_is_not_organization_wide() -> None:
    rec = synth_config(
        hub_config(share={"principals": [OTHER_ACCOUNT]}, transitGateway={"autoAccept": True})
    )
    assert rec.outputs["transitGatewayAutoAccept"] is True


# --- prod: static return routes --------------------------------------------------------------


def test_prod_routes_replies_only_to_the_spokes_it_declares(
    prod: Recording, prod_payments: Recording
) -> None:
    (tgw,) = prod.of_type(TGW)
    assert tgw.inputs["defaultRouteTablePropagation"] == "disable"
    assert tgw.inputs["autoAcceptSharedAttachments"] == "disable"
    assert not prod.of_type(DEFAULT_PROPAGATION)
    egress_table = prod.outputs["egressRouteTableId"]
    returns = {
        r.inputs["destinationCidrBlock"]: r.inputs["transitGatewayAttachmentId"]
        for r in prod.of_type(TGW_ROUTE)
        if r.inputs["transitGatewayRouteTableId"] == egress_table
    }
    assert returns == {
        "10.10.0.0/16": prod.outputs["spokes"]["shared-services"]["attachmentId"],
        "10.20.0.0/16": prod_payments.outputs["spoke"]["attachmentId"],
    }
    entry = prod.outputs["spokeStacks"]["acme/egress-net/prod-payments"]
    assert entry["status"] == "accepted" and entry["cidr"] == "10.20.0.0/16"
    assert prod_payments.outputs["spoke"]["status"] == "connected"


def _rogue(rec: Recording, cidr: str) -> Recording:
    """Another account of the organization attaches a VPC to the hub's TGW by itself."""
    tgw_id = rec.outputs["transitGatewayId"]
    vpc = new_resource("aws:ec2/vpc:Vpc", "rogue-vpc", "vpc-0badbadbadbadbad0", cidrBlock=cidr)
    attachment = new_resource(
        ATTACHMENT,
        "rogue-attachment",
        "tgw-attach-0badbadbadbadbad0",
        transitGatewayId=tgw_id,
        vpcId=vpc.id,
        subnetIds=[],
        vpcOwnerId=OTHER_ACCOUNT,
    )
    return added(rec, vpc, attachment)


def test_a_rogue_attachment_cannot_take_another_spokes_replies(
    prod: Recording, prod_payments: Recording
) -> None:
    graph = graph_from_recordings([_rogue(prod, "10.20.1.0/24"), prod_payments])
    egress_table = graph.tgw_route_tables[prod.outputs["egressRouteTableId"]]
    route = egress_table.lookup(IPv4Address("10.20.1.5"))
    assert route is not None
    assert route.attachment_id == prod_payments.outputs["spoke"]["attachmentId"]


def test_with_propagation_a_more_specific_rogue_prefix_takes_the_replies() -> None:
    # Why static routes are the default on shared hubs: the same rogue, propagated.
    rec = synth_config(
        hub_config(
            share={"principals": [ORG]},
            transitGateway={"returnRoutes": "propagated"},
        )
    )
    graph = graph_from_recordings([_rogue(rec, "10.1.1.0/24")])
    route = graph.tgw_route_tables[rec.outputs["egressRouteTableId"]].lookup(
        IPv4Address("10.1.1.5")
    )
    assert route is not None and route.attachment_id == "tgw-attach-0badbadbadbadbad0"


def test_hub_declared_spokes_get_static_routes_and_no_propagation() -> None:
    rec = synth_config(
        hub_config(
            share={"principals": [OTHER_ACCOUNT]},
            spokes=[
                {"name": "app", "cidr": "10.1.0.0/16"},
                {
                    "name": "remote",
                    "cidr": "10.9.0.0/16",
                    "roleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/egress-net-deploy",
                },
            ],
        )
    )
    attachments = {a.name: a for a in rec.of_type(ATTACHMENT)}
    # Same account: the attachment's own flag counts; another account's: the accepter's.
    assert (
        attachments["app-tgw-attachment"].inputs["transitGatewayDefaultRouteTablePropagation"]
        is False
    )
    assert (
        "transitGatewayDefaultRouteTablePropagation"
        not in attachments["remote-tgw-attachment"].inputs
    )
    (accepter,) = rec.of_type(ACCEPTER)
    assert accepter.inputs["transitGatewayDefaultRouteTablePropagation"] is False
    (remote_route,) = [
        r for r in rec.of_type(TGW_ROUTE) if r.inputs["destinationCidrBlock"] == "10.9.0.0/16"
    ]
    assert (
        remote_route.inputs["transitGatewayAttachmentId"] == attachments["remote-tgw-attachment"].id
    )
    assert accepter.urn in remote_route.dependencies  # a route to a pending attachment fails


def test_a_shared_hub_with_centralized_ingress_routes_the_load_balancers_both_ways() -> None:
    # Static return routes (the default once shared) leave no table that new attachments
    # propagate into; the ingress VPC joins the table that holds the spokes' routes instead.
    values = engine.load_source("example-ingress-centralized").config
    rec = synth_config({**values, "egress-net:share": {"principals": [OTHER_ACCOUNT]}})
    assert rec.outputs["returnRoutes"] == "static"
    graph = graph_from_recordings([rec])
    report = check_ingress(graph, apps_from_recordings([rec]), IPv4Address("198.51.100.10"))
    assert report.ok, [f.problems for f in report.findings]
    (association,) = [
        a
        for a in rec.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
        if a.name.startswith("ingress")
    ]
    assert association.inputs["transitGatewayRouteTableId"] == rec.outputs["egressRouteTableId"]


def test_an_unshared_hub_keeps_propagation() -> None:
    rec = synth_config(hub_config())
    (tgw,) = rec.of_type(TGW)
    assert tgw.inputs["defaultRouteTablePropagation"] == "enable"
    assert rec.of_type(DEFAULT_PROPAGATION)
    assert rec.outputs["returnRoutes"] == "propagated"


# --- the hub's side of spoke stacks ----------------------------------------------------------


def _spoke_outputs(**spoke: Any) -> dict[str, Any]:
    return {
        "contractVersion": 1,
        "hubStack": "acme/egress-net/test",
        "spoke": {
            "name": "payments",
            "vpcId": "vpc-0123456789abcdef0",
            "attachmentId": "tgw-attach-0123456789abcdef0",
            "cidr": "10.20.0.0/16",
            "azIds": ["use1-az1", "use1-az2"],
            "accountId": OTHER_ACCOUNT,
            **spoke,
        },
    }


def _hub_run(outputs: dict[str, Any] | None, **overrides: Any) -> tuple[Recording, list[str]]:
    values = hub_config(
        share={"principals": [ORG]},
        spokeStacks=["acme/egress-net/payments"],
        **overrides,
    )
    source = engine.StackSource(engine.config.find_project_dir(), "test", values)
    recording, warnings, _missing = engine.run_program(source, stack_outputs=lambda _name: outputs)
    return recording, warnings


def test_the_hub_accepts_a_listed_spoke_stack_and_routes_its_replies() -> None:
    rec, _ = _hub_run(_spoke_outputs())
    (accepter,) = rec.of_type(ACCEPTER)
    assert accepter.inputs["transitGatewayAttachmentId"] == "tgw-attach-0123456789abcdef0"
    assert accepter.inputs["transitGatewayDefaultRouteTablePropagation"] is False
    (route,) = [
        r for r in rec.of_type(TGW_ROUTE) if r.inputs["destinationCidrBlock"] == "10.20.0.0/16"
    ]
    assert route.inputs["transitGatewayRouteTableId"] == rec.outputs["egressRouteTableId"]
    assert route.inputs["transitGatewayAttachmentId"] == "tgw-attach-0123456789abcdef0"
    assert accepter.urn in route.dependencies
    assert rec.outputs["spokeStacks"]["acme/egress-net/payments"]["status"] == "accepted"


def test_a_spoke_stack_in_the_tgw_account_needs_no_acceptance() -> None:
    rec, _ = _hub_run(_spoke_outputs(accountId=engine.placeholder_account(engine.PROJECT, "test")))
    assert not rec.of_type(ACCEPTER)
    assert [r for r in rec.of_type(TGW_ROUTE) if r.inputs["destinationCidrBlock"] == "10.20.0.0/16"]


def test_a_listed_spoke_stack_not_deployed_yet_stays_pending() -> None:
    rec, warnings = _hub_run({})
    assert not rec.of_type(ACCEPTER)
    assert rec.outputs["spokeStacks"]["acme/egress-net/payments"]["status"] == "not deployed"
    assert any("acme/egress-net/payments: no outputs yet" in w for w in warnings)


def test_a_spoke_stack_cannot_claim_the_ingress_vpc() -> None:
    # The centralized ingress VPC sits inside the supernets here, so only the overlap check
    # stands between a spoke stack and the load balancers' replies.
    ingress = {
        "design": "centralized",
        "vpcCidr": "10.20.4.0/23",
        "applications": [
            {
                "name": "feed",
                "spokes": ["data"],
                "protocol": "TCP",
                "port": 5671,
                "targetPort": 5671,
                "targets": ["10.2.0.20"],
                "allowedSources": ["198.51.100.0/24"],
            }
        ],
    }
    synth_config(hub_config(ingress=ingress, firewall={"mode": "drop", "protections": False}))
    with pytest.raises(ConfigError) as caught:
        _hub_run(
            _spoke_outputs(cidr="10.20.0.0/16"),
            ingress=ingress,
            firewall={"mode": "drop", "protections": False},
        )
    text = str(caught.value)
    assert "egress-net:spokeStacks[0]: acme/egress-net/payments" in text
    assert "overlaps ingress.vpcCidr" in text


@pytest.mark.parametrize(
    ("outputs", "words"),
    [
        (_spoke_outputs(cidr="192.168.0.0/16"), "outside the spoke supernets"),
        (_spoke_outputs(cidr="10.1.128.0/17"), "overlaps spokes[0] (app)"),
        (_spoke_outputs(cidr="100.64.0.0/26"), "overlaps egressVpcCidr"),
        (_spoke_outputs(azIds=["use1-az1", "use1-az6"]), "without a firewall endpoint: use1-az6"),
        (_spoke_outputs(name="app"), "like spokes[0]"),
        ({**_spoke_outputs(), "hubStack": "acme/egress-net/other"}, "not to this one"),
        ({**_spoke_outputs(), "contractVersion": 2}, "contract version 2"),
        ({"contractVersion": 1, "hubStack": "acme/egress-net/test"}, "exports no spoke"),
        (_spoke_outputs(cidr="10.20.0.1/16"), "exports spoke.cidr"),
        (_spoke_outputs(cidr="fd00::/48"), "exports spoke.cidr"),  # spokes are IPv4 only
        (_spoke_outputs(name="pay::ments"), "exports spoke.name 'pay::ments'"),
        (_spoke_outputs(name="hub-x"), "not a spoke name"),
        (_spoke_outputs(attachmentId="vpc-0123456789abcdef0"), "not a Transit Gateway"),
        (_spoke_outputs(accountId="4444"), "exports spoke.accountId '4444'"),
    ],
    ids=[
        "outside",
        "overlaps-spoke",
        "overlaps-hub",
        "azs",
        "name",
        "other-hub",
        "version",
        "hub",
        "bad-cidr",
        "ipv6-cidr",
        "bad-name",
        "hub-name",
        "bad-attachment",
        "bad-account",
    ],
)
def test_the_hub_refuses_a_spoke_stack_it_cannot_route(outputs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _hub_run(outputs)
    text = str(caught.value)
    assert "egress-net:spokeStacks[0]: acme/egress-net/payments" in text and words in text
    assert [r for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


@pytest.mark.parametrize(
    ("overrides", "where", "words"),
    [
        ({"spokeStacks": ["acme/egress-net/a", "acme/egress-net/a"]}, "spokeStacks[1]", "twice"),
        ({"spokeStacks": ["a b"]}, "spokeStacks[0]", "not a stack name"),
        (
            {"spokeStacks": ["acme/egress-net/a"], "model": "distributed", "egressVpcCidr": None},
            "spokeStacks",
            "no Transit Gateway",
        ),
        ({"transitGateway": {"returnRoutes": "learned"}}, "transitGateway.returnRoutes", "static"),
    ],
)
def test_bad_spoke_stack_lists_are_refused_with_their_key(
    overrides: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        synth_config(hub_config(**overrides))
    assert f"egress-net:{where}" in str(caught.value) and words in str(caught.value)


# --- the spoke's side ------------------------------------------------------------------------


def test_a_spoke_not_yet_accepted_declares_no_route_through_its_attachment(
    prod: Recording,
) -> None:
    # The hub's TGW lives in another account and accepts nothing by itself.
    hub = {
        **prod.outputs,
        "transitGatewayOwnerId": OTHER_ACCOUNT,
        "spokeStacks": {},
    }
    values = {
        "aws:region": "us-east-1",
        "egress-net:role": "spoke",
        "egress-net:hubStack": "acme/egress-net/prod",
        "egress-net:spoke": {"name": "newcomer", "cidr": "10.30.0.0/16"},
    }
    source = engine.StackSource(engine.config.find_project_dir(), "newcomer", values)
    rec, warnings, _ = engine.run_program(source, stack_outputs=lambda _n: hub)
    assert rec.of_type(ATTACHMENT)
    assert [r for r in rec.of_type("aws:ec2/route:Route") if "transitGatewayId" in r.inputs] == []
    assert rec.outputs["spoke"]["status"] == "pending acceptance"
    assert any("waits for the hub's acceptance" in w for w in warnings)
    # Once listed and accepted, the same stack routes through the TGW.
    accepted = {**hub, "spokeStacks": {"acme/egress-net/newcomer": {"status": "accepted"}}}
    rec, _, _ = engine.run_program(source, stack_outputs=lambda _n: accepted)
    assert [r for r in rec.of_type("aws:ec2/route:Route") if "transitGatewayId" in r.inputs]
    assert rec.outputs["spoke"]["status"] == "connected"


@pytest.mark.parametrize(
    ("listed", "auto_accept", "in_tgw_account", "static", "expected"),
    [
        (None, False, False, True, (False, "pending acceptance")),
        ({"status": "not deployed"}, False, False, True, (False, "pending acceptance")),
        ({"status": "accepted"}, False, False, True, (True, "connected")),
        (None, True, False, True, (True, "unrouted")),
        (None, False, True, True, (True, "unrouted")),
        (None, True, False, False, (True, "connected")),
    ],
)
def test_where_a_spoke_stands_with_its_hub(
    listed: dict[str, str] | None,
    auto_accept: bool,
    in_tgw_account: bool,
    static: bool,
    expected: tuple[bool, str],
) -> None:
    standing = spoke_standing(
        listed=listed, auto_accept=auto_accept, in_tgw_account=in_tgw_account, static_returns=static
    )
    assert (standing.connected, standing.status) == expected
    assert bool(standing.message) == (expected[1] != "connected")


def test_a_spoke_stack_cannot_list_spoke_stacks() -> None:
    values = {
        "aws:region": "us-east-1",
        "egress-net:role": "spoke",
        "egress-net:hubStack": "acme/egress-net/prod",
        "egress-net:spoke": {"name": "payments", "cidr": "10.20.0.0/16"},
        "egress-net:spokeStacks": ["acme/egress-net/x"],
    }
    source = engine.StackSource(engine.config.find_project_dir(), "t", values)
    with pytest.raises(ConfigError) as caught:
        engine.run_program(source, stack_outputs=lambda _n: {})
    assert "egress-net:spokeStacks: only for role: hub" in str(caught.value)


# --- the offline engine: stacks that read each other ----------------------------------------


def test_the_engine_serves_a_hub_and_a_spoke_that_read_each_other(repo) -> None:
    result = engine.synth(engine.load_source("prod", repo))
    assert set(result.referenced) == {"acme/egress-net/prod-payments"}
    payments = result.referenced["acme/egress-net/prod-payments"]
    assert payments.outputs["spoke"]["status"] == "connected"
    spoke_result = engine.synth(engine.load_source("prod-payments", repo))
    assert set(spoke_result.referenced) == {"acme/egress-net/prod"}
    hub = spoke_result.referenced["acme/egress-net/prod"]
    assert hub.outputs["spokeStacks"] == result.recording.outputs["spokeStacks"]


def test_an_unlisted_spoke_stack_says_so_in_its_synth(
    repo, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from egress_net.cli import main

    for path in repo.iterdir():
        if path.name in {
            "Pulumi.yaml",
            "Pulumi.prod.yaml",
            "Pulumi.prod-payments.yaml",
            "__main__.py",
            "rules",
        }:
            (tmp_path / path.name).symlink_to(path)
    (tmp_path / "Pulumi.newcomer.yaml").write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  egress-net:role: spoke\n"
        "  egress-net:hubStack: acme/egress-net/prod\n"
        "  egress-net:spoke:\n"
        "    name: newcomer\n"
        "    cidr: 10.30.0.0/16\n"
    )
    assert main(["synth", "newcomer", "--project-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # A stack without accountId runs in an account of its own offline, not the TGW's: its
    # attachment waits for the hub's acceptance, which only a listing in spokeStacks gives.
    assert "warning: acme/egress-net/prod: this spoke's attachment waits for the hub's" in out
    assert "add this stack to egress-net:spokeStacks" in out
    assert '"status": "pending acceptance"' in out
