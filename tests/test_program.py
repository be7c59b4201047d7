"""The real __main__.py for the repo's stacks, run by the offline engine; assertions on inputs."""

from __future__ import annotations

import asyncio
import gc
import json
import random
from pathlib import Path
from typing import Any

import pytest

from egress_net import engine
from egress_net.components.network import endpoint_for_subnet
from egress_net.errors import ConfigError
from egress_net.recording import RecordedResource, Recording

from .conftest import REPO, hub_config, synth_config

ROUTE = "aws:ec2/route:Route"
SUBNET = "aws:ec2/subnet:Subnet"


def _tags(r: RecordedResource) -> dict[str, str]:
    return dict(r.inputs.get("tags") or {})


def _endpoint_az(rec: Recording) -> dict[str, str]:
    subnets = {s.id: s.inputs["availabilityZoneId"] for s in rec.of_type(SUBNET)}
    (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
    out = {}
    for sync in fw.outputs["firewallStatuses"][0]["syncStates"]:
        for att in sync["attachments"]:
            out[att["endpointId"]] = subnets[att["subnetId"]]
    return out


def _table_az_and_tier(rec: Recording) -> dict[str, tuple[str, str, str]]:
    """route table ID → (vpc role or spoke, tier, AZ ID) from the associated subnet."""
    subnets = {s.id: s for s in rec.of_type(SUBNET)}
    out = {}
    for assoc in rec.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        subnet = subnets[assoc.inputs["subnetId"]]
        tags = _tags(subnet)
        owner = tags.get("egress-net:spoke") or tags.get("egress-net:role", "?")
        out[assoc.inputs["routeTableId"]] = (
            owner,
            tags["egress-net:tier"],
            subnet.inputs["availabilityZoneId"],
        )
    return out


def _routes(rec: Recording) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(owner, tier, az, destination, route inputs) for every VPC route."""
    tables = _table_az_and_tier(rec)
    return [
        (*tables[r.inputs["routeTableId"]], r.inputs["destinationCidrBlock"], r.inputs)
        for r in rec.of_type(ROUTE)
    ]


def _target_az(rec: Recording, inputs: dict[str, Any]) -> str | None:
    if "vpcEndpointId" in inputs:
        return _endpoint_az(rec)[inputs["vpcEndpointId"]]
    if "natGatewayId" in inputs:
        nat = rec.by_id()[inputs["natGatewayId"]]
        return rec.by_id()[nat.inputs["subnetId"]].inputs["availabilityZoneId"]
    return None


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_per_az_route_targets_the_same_az(stack: str, request: pytest.FixtureRequest) -> None:
    rec: Recording = request.getfixturevalue(stack)
    per_az_targets = 0
    for _owner, _tier, az, _dest, inputs in _routes(rec):
        target_az = _target_az(rec, inputs)
        if target_az is not None:
            per_az_targets += 1
            assert target_az == az
    azs = rec.outputs["azIds"]
    # tgw 0/0 → fw, firewall 0/0 → NAT, public supernet(s) → fw, per AZ.
    assert per_az_targets == len(azs) * (2 + len(rec.outputs["spokeSupernets"]))


def test_egress_vpc_routes_follow_the_design(dev: Recording) -> None:
    by_place: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for owner, tier, az, dest, inputs in _routes(dev):
        by_place.setdefault((owner, tier, az), {})[dest] = inputs
    tgw_id = dev.outputs["transitGatewayId"]
    endpoint_az = _endpoint_az(dev)
    for az in ("use1-az1", "use1-az2"):
        tgw_subnet = by_place[("egress", "tgw", az)]
        assert set(tgw_subnet) == {"0.0.0.0/0"}
        assert endpoint_az[tgw_subnet["0.0.0.0/0"]["vpcEndpointId"]] == az
        firewall = by_place[("egress", "firewall", az)]
        assert "natGatewayId" in firewall["0.0.0.0/0"]
        assert firewall["10.0.0.0/8"]["transitGatewayId"] == tgw_id
        public = by_place[("egress", "public", az)]
        assert public["0.0.0.0/0"]["gatewayId"].startswith("igw-")
        assert endpoint_az[public["10.0.0.0/8"]["vpcEndpointId"]] == az
        for spoke in ("app", "data"):
            assert by_place[(spoke, "workload", az)] == {
                "0.0.0.0/0": {
                    **by_place[(spoke, "workload", az)]["0.0.0.0/0"],
                    "transitGatewayId": tgw_id,
                }
            }
            assert (spoke, "tgw", az) not in by_place  # attachment subnets keep only local


def test_spokes_have_no_internet_gateway_or_nat(dev: Recording) -> None:
    egress_vpc = dev.outputs["egressVpcId"]
    assert [
        igw.inputs["vpcId"] for igw in dev.of_type("aws:ec2/internetGateway:InternetGateway")
    ] == [egress_vpc]
    subnets = dev.by_id()
    for nat in dev.of_type("aws:ec2/natGateway:NatGateway"):
        assert subnets[nat.inputs["subnetId"]].inputs["vpcId"] == egress_vpc


def test_tgw_route_tables_and_defaults(dev: Recording) -> None:
    spokes_rt, egress_rt = dev.outputs["spokesRouteTableId"], dev.outputs["egressRouteTableId"]
    (assoc_default,) = dev.of_type(
        "aws:ec2transitgateway/defaultRouteTableAssociation:DefaultRouteTableAssociation"
    )
    (prop_default,) = dev.of_type(
        "aws:ec2transitgateway/defaultRouteTablePropagation:DefaultRouteTablePropagation"
    )
    assert assoc_default.inputs["transitGatewayRouteTableId"] == spokes_rt
    assert prop_default.inputs["transitGatewayRouteTableId"] == egress_rt
    attachments = dev.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    (egress_att,) = [a for a in attachments if a.inputs["vpcId"] == dev.outputs["egressVpcId"]]
    assert egress_att.inputs["applianceModeSupport"] == "enable"
    assert egress_att.inputs["transitGatewayDefaultRouteTableAssociation"] is False
    assert egress_att.inputs["transitGatewayDefaultRouteTablePropagation"] is False
    (assoc,) = dev.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    assert assoc.inputs == {
        **assoc.inputs,
        "transitGatewayAttachmentId": egress_att.id,
        "transitGatewayRouteTableId": egress_rt,
    }
    (route,) = dev.of_type("aws:ec2transitgateway/route:Route")
    assert route.inputs["transitGatewayRouteTableId"] == spokes_rt
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert route.inputs["transitGatewayAttachmentId"] == egress_att.id
    # Spoke attachments take the defaults (no explicit association needed in the hub).
    for att in attachments:
        if att is not egress_att:
            assert att.inputs.get("transitGatewayDefaultRouteTableAssociation", True) is True


def test_spoke_attachments_wait_for_the_tgw_defaults_and_the_share(prod: Recording) -> None:
    # Otherwise a new attachment could land in the TGW's own default table, or find no share.
    # prod returns replies by static routes: no default propagation table to wait for.
    prerequisites = {
        r.urn
        for r in prod.resources
        if r.type.endswith(("DefaultRouteTableAssociation", "DefaultRouteTablePropagation"))
        or (
            r.type == "aws:ram/principalAssociation:PrincipalAssociation"
            and r.name.startswith("hub-tgw-share")
        )
    }
    assert len(prerequisites) == 2
    spoke_attachments = [
        r
        for r in prod.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
        if r.inputs["vpcId"] != prod.outputs["egressVpcId"]
    ]
    assert spoke_attachments
    for att in spoke_attachments:
        assert prerequisites <= set(att.dependencies)


@pytest.mark.parametrize("stack", ["dev", "prod", "prod_payments"])
def test_every_resource_is_parented_to_a_component(
    stack: str, request: pytest.FixtureRequest
) -> None:
    rec: Recording = request.getfixturevalue(stack)
    components = {r.urn for r in rec.resources if r.type.startswith("egress-net:index:")}
    assert components
    for r in rec.resources:
        if r.type.startswith("egress-net:index:") or r.type.startswith("pulumi:"):
            continue
        assert r.parent in components, f"{r.type} {r.name} has parent {r.parent}"


@pytest.mark.parametrize(
    ("stack", "mode", "actions"),
    [
        ("dev", "alert", ["aws:alert_established"]),
        ("prod", "drop", ["aws:drop_established", "aws:alert_established"]),
    ],
)
def test_firewall_policy_per_mode(
    stack: str, mode: str, actions: list[str], request: pytest.FixtureRequest
) -> None:
    rec: Recording = request.getfixturevalue(stack)
    assert rec.outputs["firewallMode"] == mode
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    body = policy.inputs["firewallPolicy"]
    assert body["statefulDefaultActions"] == actions
    assert body["statefulEngineOptions"] == {
        "ruleOrder": "STRICT_ORDER",
        # Alert mode never drops on its own, a lost stream included.
        "streamExceptionPolicy": "DROP" if mode == "drop" else "CONTINUE",
    }
    (home_net,) = body["policyVariables"]["ruleVariables"]
    assert home_net == {"key": "HOME_NET", "ipSet": {"definitions": rec.outputs["spokeSupernets"]}}
    groups = {g.id: g for g in rec.of_type("aws:networkfirewall/ruleGroup:RuleGroup")}
    refs = body["statefulRuleGroupReferences"]
    priorities = [ref["priority"] for ref in refs]
    assert len(set(priorities)) == len(priorities)
    # The allow list comes after every deny, threat and team rule; only the default deny of
    # what the default action would let through (UDP/ICMP and every other protocol but TCP,
    # TCP handshakes between spokes) comes after it.
    ordered = sorted(refs, key=lambda ref: ref["priority"])
    allow, deny = (groups[ref["resourceArn"]] for ref in ordered[-2:])
    assert "allow-domains" in allow.inputs["name"]
    assert "default-deny" in deny.inputs["name"]
    deny_rules = deny.inputs["ruleGroup"]["rulesSource"]["rulesString"]
    action = "drop" if mode == "drop" else "alert"
    assert deny_rules.count(f"{action} ") == 4
    assert f"{action} udp any any -> any any" in deny_rules
    assert f"{action} icmp any any -> any any" in deny_rules
    assert f"{action} tcp $HOME_NET any -> $HOME_NET any" in deny_rules
    assert f"{action} ip any any -> any any" in deny_rules
    assert all(g.inputs["capacity"] >= 1 for g in groups.values())
    allowed = rec.config["egress-net:rules"]["allowDomains"]["domains"]
    # Pass rules on 443/80 in either mode (an ALLOWLIST domain group matches any port, and
    # would drop in alert mode): the default action drops, or only logs, the rest.
    rules = allow.inputs["ruleGroup"]["rulesSource"]["rulesString"]
    for domain in allowed:
        assert f'"egress allow {domain}"' in rules
    assert rules.count("pass tls $HOME_NET any -> $EXTERNAL_NET 443 ") == len(allowed)
    assert rules.count("pass http $HOME_NET any -> $EXTERNAL_NET 80 ") == len(allowed)
    assert "drop" not in rules


def test_prod_policy_orders_deny_threats_team_rules_then_allow(prod: Recording) -> None:
    (policy,) = prod.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    groups = {
        g.id: g.inputs["name"] for g in prod.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    }
    refs = sorted(
        policy.inputs["firewallPolicy"]["statefulRuleGroupReferences"], key=lambda r: r["priority"]
    )
    names = [groups.get(r["resourceArn"], r["resourceArn"].rsplit("/", 1)[-1]) for r in refs]
    # Group names end in "-c<capacity>": a new capacity means a new group (replacement).
    # And start with project and stack: names are unique per account and region.
    assert [n.rsplit("-c", 1)[0] if n.startswith("egress-") else n for n in names] == [
        "egress-net-prod-egress-deny-domains",
        "ThreatSignaturesMalwareStrictOrder",
        "egress-net-prod-egress-suricata-prod-egress",
        # Emerging Threats groups, declared by the program and filled by the sync function
        *[f"egress-net-prod-et-{i}" for i in range(1, 9)],
        "egress-net-prod-egress-allow-domains",
        "egress-net-prod-egress-default-deny",
    ]
    suricata = next(
        g
        for g in prod.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
        if "suricata" in g.inputs["name"]
    )
    rules = suricata.inputs["ruleGroup"]["rulesSource"]["rulesString"]
    assert "sid:3000002" in rules and "sid:3000004" in rules  # from rules/prod-egress.rules
    # Emerging Threats groups sit between team rules and allow, from priorityStart on.
    et = prod.config["egress-net:rules"]["emergingThreats"]
    start = et.get("priorityStart", 1000)
    et_priorities = [r["priority"] for r in refs[3:11]]
    assert et_priorities == list(range(start, start + 8))
    assert refs[2]["priority"] < start and refs[-2]["priority"] > start + 20


def test_logs_and_protections(dev: Recording, prod: Recording) -> None:
    for rec, retention, protected in ((dev, 30, False), (prod, 365, True)):
        groups = [
            g
            for g in rec.of_type("aws:cloudwatch/logGroup:LogGroup")
            if g.inputs["name"].endswith(("/alert", "/flow"))
        ]
        assert sorted(g.inputs["retentionInDays"] for g in groups) == [retention, retention]
        (logging,) = rec.of_type("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
        configs = logging.inputs["loggingConfiguration"]["logDestinationConfigs"]
        assert sorted(c["logType"] for c in configs) == ["ALERT", "FLOW"]
        (fw,) = rec.of_type("aws:networkfirewall/firewall:Firewall")
        for key in ("deleteProtection", "subnetChangeProtection", "firewallPolicyChangeProtection"):
            assert fw.inputs[key] is protected


def test_ram_share_has_no_external_principals(prod: Recording) -> None:
    # Two shares: the TGW's, and the DNS Firewall rule group's (with its query log config).
    shares = prod.of_type("aws:ram/resourceShare:ResourceShare")
    assert len(shares) == 2
    assert all(share.inputs["allowExternalPrincipals"] is False for share in shares)
    (share,) = [s for s in shares if s.name == "hub-tgw-share"]
    (assoc,) = [
        a
        for a in prod.of_type("aws:ram/resourceAssociation:ResourceAssociation")
        if a.inputs["resourceShareArn"] == share.id
    ]
    (tgw,) = prod.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    assert assoc.inputs["resourceArn"] == tgw.outputs["arn"]
    for each in shares:
        principals = [
            p.inputs["principal"]
            for p in prod.of_type("aws:ram/principalAssociation:PrincipalAssociation")
            if p.inputs["resourceShareArn"] == each.id
        ]
        assert principals == prod.config["egress-net:share"]["principals"]
    assert prod.outputs["ramShareArn"] == share.id


def test_hub_exports_the_contract(prod: Recording) -> None:
    from egress_net.program import outputs_contract_keys

    assert set(prod.outputs) == set(outputs_contract_keys())
    assert prod.outputs["contractVersion"] == 1
    assert prod.outputs["azIds"] == ["use1-az1", "use1-az2", "use1-az4"]


def test_spoke_stack_attaches_to_the_referenced_hub(
    prod_payments: Recording, prod: Recording
) -> None:
    (ref,) = prod_payments.of_type("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == "acme/egress-net/prod"
    (att,) = prod_payments.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    assert att.inputs["transitGatewayId"] == prod.outputs["transitGatewayId"]
    subnets = [s for s in prod_payments.of_type(SUBNET) if _tags(s)["egress-net:tier"] == "tgw"]
    assert sorted(s.inputs["availabilityZoneId"] for s in subnets) == prod.outputs["azIds"]
    assert prod_payments.outputs["spoke"]["cidr"] == "10.20.0.0/16"


def _spoke_values(**spoke: Any) -> dict[str, Any]:
    return {
        "aws:region": "us-east-1",
        "egress-net:role": "spoke",
        "egress-net:hubStack": "acme/egress-net/prod",
        "egress-net:spoke": {"name": "payments", "cidr": "10.20.0.0/16", **spoke},
    }


def _spoke_run(values: dict[str, Any], hub_outputs: dict[str, Any]) -> ConfigError:
    source = engine.StackSource(engine.config.find_project_dir(), "t", values)
    with pytest.raises(ConfigError) as caught:
        engine.run_program(source, stack_outputs=lambda _n: hub_outputs)
    err = caught.value
    assert [r.type for r in err.registered if r.type.startswith(("aws:", "egress-net:"))] == []
    return err


def test_spoke_refuses_a_cidr_outside_the_hub_supernets(prod: Recording) -> None:
    err = _spoke_run(_spoke_values(cidr="192.168.0.0/16"), prod.outputs)
    assert "egress-net:spoke.cidr" in str(err) and "outside the spoke supernets" in str(err)


def test_spoke_refuses_azs_the_hub_does_not_have(prod: Recording) -> None:
    err = _spoke_run(_spoke_values(azIds=["use1-az1", "use1-az3"]), prod.outputs)
    assert "egress-net:spoke.azIds[1]" in str(err) and "no firewall endpoint" in str(err)


def test_spoke_refuses_an_unknown_contract_version(prod: Recording) -> None:
    err = _spoke_run(_spoke_values(), {**prod.outputs, "contractVersion": 99})
    assert "contract version 99" in str(err)


def test_spoke_refuses_a_hub_stack_without_outputs() -> None:
    err = _spoke_run(_spoke_values(), {})
    assert "egress-net:hubStack" in str(err)


def test_spoke_in_another_account_gets_its_own_provider_and_is_accepted() -> None:
    rec = synth_config(
        hub_config(
            share={"principals": ["123456789012"]},
            spokes=[
                {"name": "app", "cidr": "10.1.0.0/16"},
                {
                    "name": "remote",
                    "cidr": "10.9.0.0/16",
                    "accountId": "123456789012",
                    "roleArn": "arn:aws:iam::123456789012:role/egress-net-deploy",
                },
            ],
        )
    )
    (provider,) = rec.of_type("pulumi:providers:aws")
    assert (
        provider.inputs["assumeRoles"][0]["roleArn"]
        == "arn:aws:iam::123456789012:role/egress-net-deploy"
    )
    remote = [
        r
        for r in rec.resources
        if r.name.startswith("remote-")
        and r.type.startswith("aws:")
        and not r.type.endswith("VpcAttachmentAccepter")
    ]
    assert remote and all(
        r.provider and r.provider.startswith(provider.urn) for r in remote if r.custom
    )
    (att,) = [r for r in remote if r.type.endswith("vpcAttachment:VpcAttachment")]
    assert att.outputs["vpcOwnerId"] == "123456789012"
    (accepter,) = rec.of_type("aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter")
    assert accepter.inputs["transitGatewayAttachmentId"] == att.id
    assert accepter.provider is None  # accepted by the hub account
    # The same-account spoke needs no acceptance.
    assert (
        len(rec.of_type("aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter")) == 1
    )


def test_endpoints_are_found_by_subnet_whatever_the_order_of_sync_states() -> None:
    states = [
        {
            "availabilityZone": f"us-east-1{letter}",
            "attachments": [{"endpointId": f"vpce-{i}", "subnetId": f"subnet-{i}"}],
        }
        for i, letter in enumerate("cab")
    ]
    for _ in range(5):
        random.shuffle(states)
        for i in range(3):
            assert endpoint_for_subnet([{"syncStates": states}], f"subnet-{i}") == f"vpce-{i}"
    with pytest.raises(ValueError, match="no endpoint for subnet subnet-9"):
        endpoint_for_subnet([{"syncStates": states}], "subnet-9")


def test_az_names_differ_between_accounts_so_nothing_can_key_by_name() -> None:
    names = {
        engine.az_name_for("use1-az1", "us-east-1", acct)
        for acct in ("111122223333", "123456789012", "210987654321", "444455556666")
    }
    assert len(names) > 1


def test_synth_is_deterministic(dev: Recording, repo) -> None:
    # Registration order may vary (it is asynchronous); names, IDs and inputs may not.
    again = engine.synth_stack("dev", repo)

    def key(rec: Recording) -> list[tuple[str, str, str]]:
        return sorted((r.urn, r.id, repr(r.inputs)) for r in rec.resources)

    assert key(again) == key(dev)
    assert again.outputs == dev.outputs


def _full_collections_during(run: Any) -> int:
    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(1)

    gc.collect()
    gc.callbacks.append(count)
    try:
        run()
    finally:
        gc.callbacks.remove(count)
    return len(full)


def test_a_run_defers_full_collections_and_puts_the_process_back() -> None:
    # A run's object graph lives until the run ends: full collections would rescan it for
    # nothing. The collector's settings and the SDK's stack capture (skipped offline) must
    # come back, also when the program fails: other Pulumi code may run in the same process.
    from pulumi.runtime import resource as runtime_resource

    spokes = [{"name": f"s{i}", "cidr": f"10.{i}.0.0/16"} for i in range(40)]
    thresholds, capture = gc.get_threshold(), runtime_resource._get_stack_trace
    assert _full_collections_during(lambda: synth_config(hub_config(spokes=spokes))) == 0
    assert (gc.get_threshold(), runtime_resource._get_stack_trace) == (thresholds, capture)
    with pytest.raises(ConfigError):
        synth_config(hub_config(azIds=[]))
    assert (gc.get_threshold(), runtime_resource._get_stack_trace) == (thresholds, capture)


def test_a_run_closes_every_event_loop_it_opened() -> None:
    # Left open, the worker threads' loops are finalised whenever the collector gets to them,
    # at worst at interpreter exit, with errors on stderr.
    def open_loops() -> set[int]:
        return {
            id(obj)
            for obj in gc.get_objects()
            if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed()
        }

    before = open_loops()
    synth_config(hub_config())
    assert open_loops() - before == set()


def test_emerging_threats_sync_is_deployed_with_least_privilege_when_enabled(
    dev: Recording,
) -> None:
    import json

    assert not [r for r in dev.resources if "et-sync" in r.name]  # off by default
    rec = synth_config(
        hub_config(rules={"emergingThreats": {"enabled": True, "schedule": "rate(6 hours)"}})
    )
    by_type = {r.type: r for r in rec.resources if "et-sync" in r.name}
    (function,) = rec.of_type("aws:lambda/function:Function")
    assert function.inputs["runtime"] == "python3.12"
    assert "reservedConcurrentExecutions" not in function.inputs
    assert (
        by_type["aws:cloudwatch/eventRule:EventRule"].inputs["scheduleExpression"]
        == "rate(6 hours)"
    )
    parameter = by_type["aws:ssm/parameter:Parameter"]
    bucket = by_type["aws:s3/bucket:Bucket"]
    statements = json.loads(by_type["aws:iam/rolePolicy:RolePolicy"].inputs["policy"])["Statement"]
    resources = [res for st in statements for res in st["Resource"]]
    actions = {action for st in statements for action in st["Action"]}
    assert "*" not in resources
    # The policy has one writer, Pulumi: the function may only fill the declared ET groups.
    writes = {a for a in actions if a.startswith("network-firewall:")} - {
        "network-firewall:DescribeRuleGroup",
        "network-firewall:DescribeRuleGroupMetadata",
    }
    assert writes == {"network-firewall:UpdateRuleGroup"}
    et_groups = [
        g
        for g in rec.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
        if g.name.startswith("hub-et-groups-")
    ]
    assert len(et_groups) == 8
    (fill,) = [st for st in statements if st["Sid"] == "FillTheDeclaredEtGroups"]
    assert sorted(fill["Resource"]) == sorted(g.outputs["arn"] for g in et_groups)
    assert parameter.outputs["arn"] in resources
    assert f"arn:aws:s3:::{bucket.outputs['bucket']}/et-sync/*" in resources
    assert all(res.startswith("arn:aws:") for res in resources)
    # Nothing runs the function during a deploy.
    assert rec.of_type("aws:lambda/invocation:Invocation") == []
    assert rec.outputs["emergingThreatsFunction"] == function.outputs["name"]


def _policy_refs(rec: Recording) -> dict[str, int]:
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    refs = policy.inputs["firewallPolicy"]["statefulRuleGroupReferences"]
    return {ref["resourceArn"]: ref["priority"] for ref in refs}


def test_the_policy_references_the_et_groups_between_team_rules_and_allow_lists() -> None:
    rec = synth_config(
        hub_config(
            rules={
                "allowDomains": {"domains": [".example.com"]},
                "emergingThreats": {"enabled": True, "groups": 3, "groupCapacity": 2000},
            }
        )
    )
    refs = _policy_refs(rec)
    by_name = {g.inputs["name"]: g for g in rec.of_type("aws:networkfirewall/ruleGroup:RuleGroup")}
    et = [n for n in by_name if "-et-" in n]
    assert len(et) == 3 and all(n.endswith("-c2000") for n in et)
    assert [refs[by_name[n].outputs["arn"]] for n in sorted(et)] == [1000, 1001, 1002]
    allow = next(g for n, g in by_name.items() if "allow-domains" in n)
    assert refs[allow.outputs["arn"]] > 1002


def test_et_groups_that_do_not_fit_the_policy_are_refused_before_any_resource() -> None:
    with pytest.raises(ConfigError) as err:
        synth_config(
            hub_config(
                rules={"emergingThreats": {"enabled": True, "groups": 10, "groupCapacity": 3000}}
            )
        )
    text = str(err.value)
    registered = [r.type for r in err.value.registered if r.type.startswith(("aws:", "egress"))]
    assert registered == []
    assert "egress-net:rules.emergingThreats.groupCapacity" in text
    assert "10 Emerging Threats groups of 3000 (30000)" in text


def test_alert_mode_never_turns_et_rules_into_drop() -> None:
    rec = synth_config(
        hub_config(
            firewall={"mode": "alert"},
            rules={"emergingThreats": {"enabled": True, "idsToIpsCategories": ["malware"]}},
        )
    )
    (function,) = rec.of_type("aws:lambda/function:Function")
    settings = json.loads(function.inputs["environment"]["variables"]["EGRESS_NET_ET_SYNC"])
    assert settings["firewall_mode"] == "alert"
    from egress_net.et_sync.settings import SyncSettings

    assert SyncSettings.from_dict(settings).converts_to_drop == ()


def test_tgw_attached_et_groups_set_home_and_external_net(repo: Path) -> None:
    import yaml

    values = yaml.safe_load((repo / "Pulumi.example-tgw-attached.yaml").read_text())["config"]
    rules = dict(values.get("egress-net:rules") or {})
    rules["emergingThreats"] = {"enabled": True, "groups": 2, "groupCapacity": 1000}
    values["egress-net:rules"] = rules
    rec = synth_config(values)
    et = [
        g
        for g in rec.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
        if g.name.startswith("hub-et-groups-")
    ]
    assert len(et) == 2
    for group in et:
        keys = {v["key"] for v in group.inputs["ruleGroup"]["ruleVariables"]["ipSets"]}
        assert keys == {"HOME_NET", "EXTERNAL_NET"}
    (function,) = rec.of_type("aws:lambda/function:Function")
    raw = function.inputs["environment"]["variables"]["EGRESS_NET_ET_SYNC"]
    assert json.loads(raw)["ip_sets"]["EXTERNAL_NET"]
    # Lambda quotas: 4 KB for all of a function's environment variables.
    assert len("EGRESS_NET_ET_SYNC") + len(raw.encode()) <= 4096


def test_logs_can_go_to_an_encrypted_s3_bucket_shared_by_every_firewall() -> None:
    import json

    kms = "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    rec = synth_config(
        hub_config(
            model="combined",
            spokes=[
                {"name": "app", "cidr": "10.1.0.0/16"},
                {"name": "big", "cidr": "10.2.0.0/16", "model": "distributed"},
            ],
            logs={"destination": "s3", "kmsKeyArn": kms, "retentionDays": 90},
        )
    )
    assert not rec.of_type("aws:cloudwatch/logGroup:LogGroup")
    (bucket,) = rec.of_type("aws:s3/bucket:Bucket")
    (block,) = rec.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    (encryption,) = rec.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": kms}
    (policy,) = rec.of_type("aws:s3/bucketPolicy:BucketPolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    # Allowed: the log delivery service only (the first statement denies non-TLS requests).
    assert statements[0]["Sid"] == "DenyInsecureTransport"
    statements = [st for st in statements if st["Effect"] == "Allow"]
    assert {st["Principal"]["Service"] for st in statements} == {"delivery.logs.amazonaws.com"}
    assert all(
        st["Condition"]["StringEquals"]["aws:SourceAccount"] == rec.account for st in statements
    )
    (lifecycle,) = rec.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle.inputs["rules"][0]["expiration"]["days"] == 90
    configs = rec.of_type("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
    assert len(configs) == 2  # the hub's firewall and the distributed spoke's
    prefixes = set()
    for logging in configs:
        for dest in logging.inputs["loggingConfiguration"]["logDestinationConfigs"]:
            assert dest["logDestinationType"] == "S3"
            assert dest["logDestination"]["bucketName"] == bucket.outputs["bucket"]
            prefixes.add(dest["logDestination"]["prefix"])
    assert len(prefixes) == 4  # ALERT and FLOW of each firewall, apart


def test_cloudwatch_log_groups_use_the_kms_key_when_given() -> None:
    kms = "arn:aws:kms:us-east-1:111122223333:alias/egress-logs"
    rec = synth_config(hub_config(logs={"kmsKeyArn": kms}))
    groups = rec.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and all(g.inputs["kmsKeyId"] == kms for g in groups)


def test_tls_inspection_decrypts_spoke_https_and_logs_tls() -> None:
    ca = "arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    rec = synth_config(
        hub_config(
            firewall={
                "mode": "drop",
                "tlsInspection": {"certificateAuthorityArn": ca, "ports": [443, 8443]},
            }
        )
    )
    (tls,) = rec.of_type(
        "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration"
    )
    server = tls.inputs["tlsInspectionConfiguration"]["serverCertificateConfiguration"]
    assert server["certificateAuthorityArn"] == ca
    (scope,) = server["scopes"]
    assert scope["protocols"] == [6]
    assert [s["addressDefinition"] for s in scope["sources"]] == ["10.0.0.0/8"]
    assert [(p["fromPort"], p["toPort"]) for p in scope["destinationPorts"]] == [
        (443, 443),
        (8443, 8443),
    ]
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    assert policy.inputs["firewallPolicy"]["tlsInspectionConfigurationArn"] == tls.outputs["arn"]
    (logging,) = rec.of_type("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
    types = sorted(
        d["logType"] for d in logging.inputs["loggingConfiguration"]["logDestinationConfigs"]
    )
    assert types == ["ALERT", "FLOW", "TLS"]
    # Without TLS inspection there is nothing to log as TLS.
    plain = synth_config(hub_config())
    (logging,) = plain.of_type("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
    assert "TLS" not in [
        d["logType"] for d in logging.inputs["loggingConfiguration"]["logDestinationConfigs"]
    ]


def test_a_spoke_can_have_its_own_allowed_domains() -> None:
    rec = synth_config(
        hub_config(
            rules={"allowDomains": {"domains": ["pypi.org"]}},
            spokes=[
                {"name": "app", "cidr": "10.1.0.0/16", "allowDomains": ["api.stripe.com"]},
                {"name": "data", "cidr": "10.2.0.0/16"},
            ],
        )
    )
    # By the rules layer's name (the Name tag; the deployed name adds project and stack).
    groups = {
        g.inputs["tags"]["Name"].rsplit("-c", 1)[0]: g
        for g in rec.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    }
    rules = groups["egress-spoke-allow"].inputs["ruleGroup"]["rulesSource"]["rulesString"]
    assert "pass tls 10.1.0.0/16 any -> $EXTERNAL_NET 443" in rules and "api.stripe.com" in rules
    assert "10.2.0.0/16" not in rules
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    priority = {
        ref["resourceArn"]: ref["priority"]
        for ref in policy.inputs["firewallPolicy"]["statefulRuleGroupReferences"]
    }
    # The shared allow list stays last; the spoke's own comes right before it.
    assert priority[groups["egress-spoke-allow"].id] < priority[groups["egress-allow-domains"].id]


def test_a_spoke_stack_cannot_carry_its_own_allow_list(prod: Recording) -> None:
    err = _spoke_run(_spoke_values(allowDomains=["api.example.com"]), prod.outputs)
    assert "egress-net:spoke.allowDomains" in str(err)


def test_routes_of_a_cross_account_spoke_wait_for_the_acceptance() -> None:
    # A route through an attachment still pending acceptance fails (or times out).
    rec = synth_config(
        hub_config(
            share={"principals": ["123456789012"]},
            spokes=[
                {
                    "name": "remote",
                    "cidr": "10.9.0.0/16",
                    "roleArn": "arn:aws:iam::123456789012:role/egress-net-deploy",
                }
            ],
        )
    )
    (accepter,) = rec.of_type("aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter")
    routes = [r for r in rec.of_type(ROUTE) if r.name.startswith("remote-")]
    assert routes and all(accepter.urn in r.dependencies for r in routes)
    # The spoke's attachment also waits for the TGW to be in the share.
    (share_tgw,) = [
        r
        for r in rec.of_type("aws:ram/resourceAssociation:ResourceAssociation")
        if r.name == "hub-tgw-share-tgw"
    ]
    (attachment,) = [
        a
        for a in rec.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
        if a.name.startswith("remote-")
    ]
    assert share_tgw.urn in attachment.dependencies


def test_hub_attachments_in_the_default_table_rely_on_the_tgw_default_only() -> None:
    # Declaring both the default flag and an explicit association makes the provider fight
    # itself on every refresh; the egress VPC of centralized inspection sits in the default.
    rec = synth_config(
        hub_config(model="centralized-inspection", inspectionVpcCidr="100.64.2.0/24")
    )
    egress_vpc = rec.outputs["egressVpcId"]
    (egress_att,) = [
        a
        for a in rec.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
        if a.inputs["vpcId"] == egress_vpc
    ]
    assert egress_att.inputs["transitGatewayDefaultRouteTableAssociation"] is True
    assert egress_att.inputs["transitGatewayDefaultRouteTablePropagation"] is False
    associations = rec.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    assert egress_att.id not in [a.inputs["transitGatewayAttachmentId"] for a in associations]
    default = rec.of_type(
        "aws:ec2transitgateway/defaultRouteTableAssociation:DefaultRouteTableAssociation"
    )[0]
    assert default.urn in egress_att.dependencies


def test_the_stack_account_is_checked_against_the_credentials() -> None:
    # Offline, the credentials are for the account the stack names...
    assert synth_config(hub_config(accountId="111122223333")).outputs["contractVersion"] == 1
    # ...unless the run is given other credentials: then the program refuses to deploy.
    source = engine.StackSource(REPO, "test", hub_config(accountId="999988887777"))
    with pytest.raises(ConfigError) as caught:
        engine.synth(source, account="111122223333")
    assert "egress-net:accountId" in str(caught.value) and "111122223333" in str(caught.value)
    assert [r for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


def test_a_spoke_role_in_the_stack_account_needs_no_provider_or_acceptance() -> None:
    rec = synth_config(
        hub_config(
            accountId="111122223333",
            spokes=[
                {
                    "name": "app",
                    "cidr": "10.1.0.0/16",
                    "roleArn": "arn:aws:iam::111122223333:role/deploy",
                }
            ],
        )
    )
    assert not rec.of_type("pulumi:providers:aws")
    assert not rec.of_type("aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter")


@pytest.mark.parametrize(("mode", "override"), [("alert", "DROP_TO_ALERT"), ("drop", None)])
def test_alert_mode_turns_managed_threat_groups_drops_into_alerts(
    mode: str, override: str | None
) -> None:
    # A managed threat group drops whatever its signatures match: in alert mode (which must
    # never drop) its reference carries Network Firewall's DROP_TO_ALERT override.
    rec = synth_config(
        hub_config(
            firewall={"mode": mode},
            rules={"managedRuleGroups": [{"name": "ThreatSignaturesMalware", "capacity": 200}]},
        )
    )
    (policy,) = rec.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    refs = policy.inputs["firewallPolicy"]["statefulRuleGroupReferences"]
    [managed] = [r for r in refs if "aws-managed" in r["resourceArn"]]
    assert managed.get("override") == ({"action": override} if override else None)
    customer = [r for r in refs if "aws-managed" not in r["resourceArn"]]
    assert customer and all("override" not in r for r in customer)
