"""Route 53 Resolver DNS Firewall: the spokes' DNS queries, which never cross the TGW."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from egress_net import dns_plan, engine
from egress_net.errors import ConfigError
from egress_net.recording import RecordedResource, Recording

from .conftest import hub_config, synth_config

_R53 = "aws:route53/"
RULE_GROUP = _R53 + "resolverFirewallRuleGroup:ResolverFirewallRuleGroup"
DOMAIN_LIST = _R53 + "resolverFirewallDomainList:ResolverFirewallDomainList"
RULE = _R53 + "resolverFirewallRule:ResolverFirewallRule"
ASSOCIATION = _R53 + "resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
FIREWALL_CONFIG = _R53 + "resolverFirewallConfig:ResolverFirewallConfig"
QUERY_LOG_CONFIG = _R53 + "resolverQueryLogConfig:ResolverQueryLogConfig"
QUERY_LOG_ASSOCIATION = _R53 + "resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation"
VPC = "aws:ec2/vpc:Vpc"


def _rules(rec: Recording) -> list[tuple[int, str, str | None, list[str] | str]]:
    """(priority, action, block response, domains or managed list ID), in priority order."""
    lists = {r.id: r.inputs["domains"] for r in rec.of_type(DOMAIN_LIST)}
    out = []
    for rule in rec.of_type(RULE):
        list_id = rule.inputs["firewallDomainListId"]
        out.append(
            (
                rule.inputs["priority"],
                rule.inputs["action"],
                rule.inputs.get("blockResponse"),
                lists.get(list_id, list_id),
            )
        )
    return sorted(out)


def _vpc_of(rec: Recording, resource: RecordedResource, key: str = "vpcId") -> str:
    return rec.by_id()[resource.inputs[key]].name


# --- the domain lists, converted -------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (".example.com", ["example.com.", "*.example.com."]),
        ("example.com", ["example.com."]),
        ("API.Example.COM", ["api.example.com."]),
        (".Pypi.org", ["pypi.org.", "*.pypi.org."]),
    ],
)
def test_network_firewall_entries_become_dns_firewall_domains(
    entry: str, expected: list[str]
) -> None:
    # NFW: ".example.com" = the domain and its subdomains; DNS Firewall: "*." = subdomains.
    # Fully qualified, as Route 53 Resolver stores and returns them.
    assert dns_plan.dns_firewall_domains(entry) == expected


def test_a_converted_list_names_each_domain_once() -> None:
    assert dns_plan.dns_firewall_domain_list([".a.com", "a.com", "b.org", ".A.com"]) == [
        "a.com.",
        "*.a.com.",
        "b.org.",
    ]


def _longest_name(length: int) -> str:
    """A valid DNS name of ``length`` characters (labels of at most 63)."""
    labels, left = [], length
    while left > 0:
        size = min(63, left if left <= 63 else left - 2)
        labels.append("a" * size)
        left -= size + 1
    name = ".".join(labels)
    assert len(name) == length
    return name


@pytest.mark.parametrize(("length", "wildcard"), [(251, True), (252, False), (253, False)])
def test_every_specification_fits_what_aws_accepts(length: int, wildcard: bool) -> None:
    # UpdateFirewallDomains takes 1-255 characters per specification; DNS names are at most
    # 253, so under an apex of 252 or 253 no subdomain exists and no wildcard is sent.
    apex = _longest_name(length)
    specs = dns_plan.dns_firewall_domains(f".{apex}")
    assert specs[0] == f"{apex}."
    assert (f"*.{apex}." in specs) is wildcard
    assert all(1 <= len(s) <= dns_plan.SPEC_MAX for s in specs)


def test_drop_mode_resolves_allowed_names_only_and_checks_deny_lists_first() -> None:
    rules = dns_plan.plan_dns_rules(
        "drop", ["pypi.org"], [".pastebin.com"], [("AWSManagedDomainsMalwareDomainList", "x")]
    )
    assert [(r.name, r.action, r.block_response) for r in rules] == [
        ("deny-domains", "BLOCK", "NXDOMAIN"),
        ("managed-AWSManagedDomainsMalwareDomainList", "BLOCK", "NXDOMAIN"),
        ("allow-domains", "ALLOW", None),
        ("everything-else", "BLOCK", "NXDOMAIN"),
    ]
    assert [r.priority for r in rules] == sorted(r.priority for r in rules)
    assert len({r.priority for r in rules}) == len(rules)
    assert rules[-1].domains == ("*.",)
    assert rules[2].domains == ("*.internal.", "pypi.org.")
    # An allowed name's CNAME chain (into a CDN) is trusted; the other rules keep AWS's default.
    assert [r.redirection for r in rules] == [None, None, "TRUST_REDIRECTION_DOMAIN", None]


def test_alert_mode_never_blocks() -> None:
    rules = dns_plan.plan_dns_rules(
        "alert", ["pypi.org"], [".pastebin.com"], block_response="NODATA"
    )
    assert {r.action for r in rules} == {"ALERT", "ALLOW"}
    assert all(r.block_response is None for r in rules)
    assert rules[-1].action == "ALERT" and rules[-1].domains == ("*.",)


# --- prod and prod-payments ------------------------------------------------------------------


def test_prod_builds_a_dns_rule_group_from_its_allow_and_deny_lists(prod: Recording) -> None:
    (group,) = prod.of_type(RULE_GROUP)
    assert group.inputs["name"] == "egress-net-prod-hub-dns-rules"
    rules = _rules(prod)
    assert [(p, a, b) for p, a, b, _ in rules] == [
        (100, "BLOCK", "NXDOMAIN"),
        (500, "ALLOW", None),
        (1000, "BLOCK", "NXDOMAIN"),
    ]
    assert rules[0][3] == ["pastebin.com.", "*.pastebin.com.", "transfer.sh.", "*.transfer.sh."]
    allowed = rules[1][3]
    assert isinstance(allowed, list)
    assert {"github.com.", "*.github.com.", "pypi.org.", "registry.npmjs.org."} <= set(allowed)
    assert "*.pypi.org." not in allowed  # pypi.org is exact in the firewall's list
    assert rules[2][3] == ["*."]
    assert all(r.inputs["firewallRuleGroupId"] == group.id for r in prod.of_type(RULE))
    (allow_rule,) = [r for r in prod.of_type(RULE) if r.inputs["action"] == "ALLOW"]
    assert allow_rule.inputs["firewallDomainRedirectionAction"] == "TRUST_REDIRECTION_DOMAIN"


def test_prod_sends_domains_as_aws_stores_them(prod: Recording) -> None:
    # Route 53 Resolver keeps each domain fully qualified and the provider reads it back that
    # way (hashicorp/terraform-provider-aws#23543): without the dot, every `up` is an update.
    specs = [d for dl in prod.of_type(DOMAIN_LIST) for d in dl.inputs["domains"]]
    assert specs and all(d.endswith(".") and not d.endswith("..") for d in specs)
    assert all(d == d.lower() for d in specs)


def test_prod_shares_the_group_and_query_logs_with_the_tgw_principals(prod: Recording) -> None:
    (group,) = prod.of_type(RULE_GROUP)
    (logs,) = prod.of_type(QUERY_LOG_CONFIG)
    (share,) = [s for s in prod.of_type("aws:ram/resourceShare:ResourceShare") if "dns" in s.name]
    shared = {
        a.inputs["resourceArn"]
        for a in prod.of_type("aws:ram/resourceAssociation:ResourceAssociation")
        if a.inputs["resourceShareArn"] == share.id
    }
    assert shared == {group.outputs["arn"], logs.outputs["arn"]}
    assert prod.outputs["dnsFirewall"]["ruleGroupId"] == group.id
    assert prod.outputs["dnsFirewall"]["ruleGroupArn"] == group.outputs["arn"]
    assert prod.outputs["dnsFirewall"]["queryLogConfigId"] == logs.id


def test_prod_logs_queries_to_a_log_group_beside_the_firewall_logs(prod: Recording) -> None:
    (logs,) = prod.of_type(QUERY_LOG_CONFIG)
    groups = {g.outputs["arn"]: g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")}
    group = groups[logs.inputs["destinationArn"]]
    assert group.inputs["name"] == "/egress-net/prod/hub-dns/queries"
    assert group.inputs["retentionInDays"] == 365


def test_prod_protects_every_spoke_vpc_it_declares_fail_closed(prod: Recording) -> None:
    (group,) = prod.of_type(RULE_GROUP)
    (logs,) = prod.of_type(QUERY_LOG_CONFIG)
    spoke_vpcs = {v["vpcId"] for v in prod.outputs["spokes"].values()}
    associations = prod.of_type(ASSOCIATION)
    assert {a.inputs["vpcId"] for a in associations} == spoke_vpcs
    for a in associations:
        assert a.inputs["firewallRuleGroupId"] == group.id
        # The lowest a VPC's own associations may take: no group a spoke account associates
        # itself is evaluated before the hub's (priorities are unique per VPC).
        assert a.inputs["priority"] == 100
        assert a.inputs["mutationProtection"] == "ENABLED"  # protections are on in prod
    configs = prod.of_type(FIREWALL_CONFIG)
    assert {c.inputs["resourceId"] for c in configs} == spoke_vpcs
    assert {c.inputs["firewallFailOpen"] for c in configs} == {"DISABLED"}  # fail closed
    log_associations = prod.of_type(QUERY_LOG_ASSOCIATION)
    assert {a.inputs["resourceId"] for a in log_associations} == spoke_vpcs
    assert {a.inputs["resolverQueryLogConfigId"] for a in log_associations} == {logs.id}


def test_a_vpc_is_associated_only_once_the_group_has_its_rules(prod: Recording) -> None:
    # An empty rule group answers every name: the drop-mode catch-all must exist first.
    rules = {r.urn for r in prod.of_type(RULE)}
    assert len(rules) == 3
    for association in prod.of_type(ASSOCIATION):
        assert rules <= set(association.dependencies)


def test_prod_payments_associates_its_own_vpc_with_the_shared_group(
    prod_payments: Recording, prod: Recording
) -> None:
    hub_dns = prod.outputs["dnsFirewall"]
    (vpc,) = prod_payments.of_type(VPC)
    (association,) = prod_payments.of_type(ASSOCIATION)
    assert association.inputs["vpcId"] == vpc.id
    assert association.inputs["firewallRuleGroupId"] == hub_dns["ruleGroupId"]
    assert association.inputs["priority"] == hub_dns["priority"]
    (config,) = prod_payments.of_type(FIREWALL_CONFIG)
    assert config.inputs == {**config.inputs, "resourceId": vpc.id, "firewallFailOpen": "DISABLED"}
    (logs,) = prod_payments.of_type(QUERY_LOG_ASSOCIATION)
    assert logs.inputs["resolverQueryLogConfigId"] == hub_dns["queryLogConfigId"]
    assert not prod_payments.of_type(RULE_GROUP)  # the hub's group, not one of its own


def test_alert_mode_fails_open_and_only_alerts(dev: Recording) -> None:
    assert {a for _, a, _, _ in _rules(dev)} == {"ALERT", "ALLOW"}
    assert {c.inputs["firewallFailOpen"] for c in dev.of_type(FIREWALL_CONFIG)} == {"ENABLED"}
    # Not shared (no principals), protections off: associations can be removed freely.
    assert not [s for s in dev.of_type("aws:ram/resourceShare:ResourceShare") if "dns" in s.name]
    assert {a.inputs["mutationProtection"] for a in dev.of_type(ASSOCIATION)} == {"DISABLED"}


def test_a_spoke_in_another_account_associates_there_once_the_group_is_shared() -> None:
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
    (provider,) = rec.of_type("pulumi:providers:aws")
    (association,) = rec.of_type(ASSOCIATION)
    assert association.provider and association.provider.startswith(provider.urn)
    share_parts = {
        r.urn
        for r in rec.resources
        if "DnsFirewall" in r.urn
        and r.type.startswith("aws:ram/")
        and not r.type.endswith("ResourceShare")
    }
    assert share_parts and share_parts <= set(association.dependencies)


def test_query_logs_go_to_the_stack_bucket_where_its_policy_lets_them() -> None:
    rec = synth_config(hub_config(logs={"destination": "s3"}))
    (logs,) = rec.of_type(QUERY_LOG_CONFIG)
    (bucket,) = [b for b in rec.of_type("aws:s3/bucket:Bucket") if "firewall-logs" in b.name]
    destination = logs.inputs["destinationArn"]
    bucket_arn = f"arn:aws:s3:::{bucket.outputs['bucket']}"
    assert destination == f"{bucket_arn}/egress-net/test/hub-dns/queries/"
    # Resolver writes <destination>AWSLogs/<configuration owner>/vpcdnsquerylogs/<vpc>/...
    # (Route 53 Developer Guide, "AWS resources that you can send Resolver query logs to"):
    # the bucket policy must let the log delivery service put exactly those keys.
    (policy,) = rec.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (grant,) = [
        s
        for s in json.loads(policy.inputs["policy"])["Statement"]
        if s["Action"] == "s3:PutObject" and s["Effect"] == "Allow"
    ]
    account = grant["Condition"]["StringEquals"]["aws:SourceAccount"]
    written = f"{destination}AWSLogs/{account}/vpcdnsquerylogs/vpc-0abc/2026/12/06/x.log.gz"
    assert fnmatch.fnmatchcase(written, grant["Resource"])


def test_managed_domain_lists_are_blocked_by_their_ids_and_options_apply() -> None:
    managed = {"name": "AWSManagedDomainsMalwareDomainList", "id": "rslvr-fdl-2c46f2ecbfec4dcc"}
    rec = synth_config(
        hub_config(
            firewall={"mode": "drop"},
            dnsFirewall={
                "managedDomainLists": [managed],
                "blockResponse": "NODATA",
                "failOpen": True,
                "associationPriority": 101,
                "allowDomains": [".corp.example.internal"],
                "queryLogs": False,
            },
        )
    )
    rules = _rules(rec)
    assert (203, "BLOCK", "NODATA", managed["id"]) in rules  # Malware's own priority
    assert "corp.example.internal." in rules[-2][3] and "*.corp.example.internal." in rules[-2][3]
    assert {c.inputs["firewallFailOpen"] for c in rec.of_type(FIREWALL_CONFIG)} == {"ENABLED"}
    assert {a.inputs["priority"] for a in rec.of_type(ASSOCIATION)} == {101}
    assert not rec.of_type(QUERY_LOG_CONFIG) and not rec.of_type(QUERY_LOG_ASSOCIATION)
    assert rec.outputs["dnsFirewall"]["queryLogConfigId"] is None


MALWARE = ("AWSManagedDomainsMalwareDomainList", "rslvr-fdl-0123456789abcdef")
BOTNET = ("AWSManagedDomainsBotnetCommandandControl", "rslvr-fdl-0123456789abcdee")
AGGREGATE = ("AWSManagedDomainsAggregateThreatList", "rslvr-fdl-0123456789abcded")


def _priorities(managed: list[tuple[str, str]]) -> dict[str, int]:
    return {r.name: r.priority for r in dns_plan.plan_dns_rules("drop", ["a.com"], [], managed)}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([BOTNET, MALWARE], [MALWARE]),  # the first one removed
        ([BOTNET, MALWARE], [MALWARE, BOTNET]),  # reordered
        ([MALWARE], [AGGREGATE, MALWARE]),  # one added in front
    ],
    ids=["removed", "reordered", "added"],
)
def test_a_change_of_managed_lists_moves_no_other_rule(
    before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    # Priorities are unique within a rule group and Pulumi updates before it deletes: a rule
    # moved onto a priority another rule still holds is refused, so none may move.
    old, new = _priorities(before), _priorities(after)
    assert {k: v for k, v in new.items() if k in old} == {k: v for k, v in old.items() if k in new}
    assert len(set(new.values())) == len(new)


def test_a_rule_is_deleted_before_its_replacement_takes_its_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A new domain list ID replaces the rule (ForceNew in the provider); a replacement created
    # first would hold the old rule's priority beside it, which AWS refuses.
    options: list[pulumi.ResourceOptions | None] = []

    class Spy(aws.route53.ResolverFirewallRule):
        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            options.append(kwargs.get("opts"))
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(aws.route53, "ResolverFirewallRule", Spy)
    synth_config(
        hub_config(dnsFirewall={"managedDomainLists": [{"name": MALWARE[0], "id": MALWARE[1]}]})
    )
    # Managed list, allow list, everything else (in each run of the program synth makes).
    assert options and len(options) % 3 == 0
    assert all(o is not None and o.delete_before_replace for o in options)


def test_dns_firewall_can_be_turned_off() -> None:
    rec = synth_config(hub_config(dnsFirewall={"enabled": False}))
    assert not [r for r in rec.resources if r.type.startswith(_R53)]
    assert rec.outputs["dnsFirewall"] is None


def test_distributed_spokes_are_protected_too() -> None:
    rec = synth_config(hub_config(model="distributed", egressVpcCidr=None))
    spoke_vpcs = {v["vpcId"] for v in rec.outputs["spokes"].values()}
    assert {a.inputs["vpcId"] for a in rec.of_type(ASSOCIATION)} == spoke_vpcs


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dns", "where", "words"),
    [
        ({"associationPriority": 99}, "egress-net:dnsFirewall.associationPriority", "100-9900"),
        ({"associationPriority": 9901}, "egress-net:dnsFirewall.associationPriority", "100-9900"),
        (
            {
                "managedDomainLists": [
                    {"name": "AWSManagedDomainsMalwareList", "id": "rslvr-fdl-0123456789abcdef"}
                ]
            },
            "egress-net:dnsFirewall.managedDomainLists[0].name",
            "did you mean 'AWSManagedDomainsMalwareDomainList'",
        ),
        (
            {"managedDomainLists": [{"name": "AWSManagedDomainsMalwareDomainList", "id": "fdl-1"}]},
            "egress-net:dnsFirewall.managedDomainLists[0].id",
            "list-firewall-domain-lists",
        ),
        (
            {
                "managedDomainLists": [
                    {
                        "name": "AWSManagedDomainsMalwareDomainList",
                        "id": "rslvr-fdl-0123456789abcdef",
                    },
                    {
                        "name": "AWSManagedDomainsMalwareDomainList",
                        "id": "rslvr-fdl-0123456789abcdee",
                    },
                ]
            },
            "egress-net:dnsFirewall.managedDomainLists[1].name",
            "listed twice",
        ),
        ({"blockResponse": "OVERRIDE"}, "egress-net:dnsFirewall.blockResponse", "NXDOMAIN"),
        (
            {"allowDomains": ["*.example.com"]},
            "egress-net:dnsFirewall.allowDomains[0]",
            "leading dot",
        ),
        ({"failOpen": "sometimes"}, "egress-net:dnsFirewall.failOpen", "bool"),
        ({"enabled": "yes please"}, "egress-net:dnsFirewall.enabled", "bool"),
        ({"queryLogs": [True]}, "egress-net:dnsFirewall.queryLogs", "bool"),
        ({"enabeld": False}, "egress-net:dnsFirewall.enabeld", "did you mean 'enabled'"),
    ],
)
def test_bad_dns_firewall_config_is_refused_with_its_key(
    dns: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        synth_config(hub_config(dnsFirewall=dns))
    assert where in str(caught.value) and words in str(caught.value)
    assert [r for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


def test_a_spoke_stack_cannot_configure_dns_firewall() -> None:
    values = {
        "aws:region": "us-east-1",
        "egress-net:role": "spoke",
        "egress-net:hubStack": "acme/egress-net/prod",
        "egress-net:spoke": {"name": "payments", "cidr": "10.20.0.0/16"},
        "egress-net:dnsFirewall": {"failOpen": True},
    }
    source = engine.StackSource(engine.config.find_project_dir(), "t", values)
    with pytest.raises(ConfigError) as caught:
        engine.run_program(source, stack_outputs=lambda _n: {})
    assert "egress-net:dnsFirewall: only for role: hub" in str(caught.value)


def test_dns_around_the_vpc_resolver_is_the_network_firewalls_to_drop(prod: Recording) -> None:
    # DNS Firewall sees only the VPC resolver's queries. UDP/53 (or UDP/853) to an outside
    # resolver must meet the firewall's final UDP deny, TCP/853 (DoT) its drop of established
    # flows that no rule passed.
    (policy,) = prod.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    assert "aws:drop_established" in policy.inputs["firewallPolicy"]["statefulDefaultActions"]
    rule_texts = [
        g.inputs["ruleGroup"].get("rulesSource", {}).get("rulesString") or ""
        for g in prod.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    ]
    assert any(line.startswith("drop udp ") for text in rule_texts for line in text.splitlines())
