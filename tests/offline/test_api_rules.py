"""Recorded inputs checked against AWS's API models: what AWS would refuse fails offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_net import engine
from egress_net.offline import OfflineCheckError, api_rules

from .conftest import STACKS, program_source

RULE_GROUP = """
import pulumi_aws as aws
aws.networkfirewall.RuleGroup("allow", name=NAME, capacity=10, type="STATEFUL", rules="")
"""


def test_a_name_outside_the_api_pattern_fails_with_resource_and_field(tmp_path: Path) -> None:
    source = program_source(tmp_path, "NAME = 'egress.team_1'\n" + RULE_GROUP)
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(source)
    text = str(caught.value)
    assert "aws:networkfirewall/ruleGroup:RuleGroup allow: name" in text
    assert "network-firewall CreateRuleGroup RuleGroupName" in text
    assert "'egress.team_1' does not match ^[a-zA-Z0-9-]+$" in text


def test_a_valid_name_passes(tmp_path: Path) -> None:
    engine.synth(program_source(tmp_path, "NAME = 'egress-team-1'\n" + RULE_GROUP))


def test_a_priority_out_of_range_fails(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    aws.networkfirewall.FirewallPolicy(
        "policy",
        name="egress",
        firewall_policy={
            "stateless_default_actions": ["aws:forward_to_sfe"],
            "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
            "stateful_rule_group_references": [
                {"resource_arn": "arn:aws:network-firewall:us-east-1:444455556666:"
                 "stateful-rulegroup/a", "priority": 70000},
            ],
        },
    )
    """
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, code))
    text = str(caught.value)
    assert "firewallPolicy.statefulRuleGroupReferences[0].priority" in text
    assert "FirewallPolicy.StatefulRuleGroupReferences[].Priority" in text
    assert "70000 is above the maximum 65535" in text


def test_an_unknown_enum_value_fails(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    aws.ssm.Parameter("version", name="/egress/version", type="Text", value="1")
    aws.cloudwatch.LogGroup("logs", name="/egress/flow", log_group_class="CHEAP")
    """
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, code))
    text = str(caught.value)
    assert "aws:ssm/parameter:Parameter version: type (ssm PutParameter Type)" in text
    assert "'Text' is not one of String, StringList, SecureString" in text
    assert "logGroupClass" in text and "'CHEAP' is not one of" in text


def test_tags_and_lists_are_checked_in_the_api_shape(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    aws.networkfirewall.RuleGroup(
        "allow", name="allow", capacity=10, type="STATEFUL", rules="", tags={"": "empty key"}
    )
    """
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, code))
    assert "tags[0].Key" in str(caught.value) and "0 characters; at least 1" in str(caught.value)


def test_every_type_the_repo_declares_is_mapped_or_listed_as_unchecked(
    repo_stacks: dict[str, engine.SynthResult],
) -> None:
    declared = {
        r.type
        for result in repo_stacks.values()
        for r in result.recording
        if r.custom and r.type.startswith("aws:")
    }
    unmapped = declared - set(api_rules._CALLS) - api_rules.UNCHECKED_TYPES
    assert unmapped == set()


@pytest.mark.parametrize("stack", STACKS)
def test_every_repo_stack_passes(stack: str, repo_stacks: dict[str, engine.SynthResult]) -> None:
    result = repo_stacks[stack]
    for recording in (result.recording, *result.referenced.values()):
        assert [v.render() for r in recording for v in api_rules.check_resource(r)] == []


def test_every_mapped_call_exists_in_the_botocore_models_with_its_renamed_members() -> None:
    for type_token, call in api_rules._CALLS.items():
        shape = api_rules._service_model(call.service).operation_model(call.operation).input_shape
        for target in call.renames.values():
            if not target:
                continue  # sent by another call
            top = target.split(".")[0].removesuffix("[]")
            members = dict(shape.members)
            if call.wrap:  # members of the one list element the inputs become
                members |= shape.members[call.wrap].member.members
            assert api_rules._member_key(members, top), (type_token, target)


def _member_path_exists(shape: object, target: str) -> bool:
    """Does every step of ``target`` (``Certificates[].CertificateArn``) name a member?"""
    for part in target.split("."):
        members = getattr(shape, "members", {})
        found = api_rules._member_key(members, part.removesuffix("[]"))
        if found is None:
            return False
        shape = members[found]
        if part.endswith("[]"):
            shape = shape.member  # type: ignore[attr-defined]
    return True


def test_every_renamed_member_path_exists_to_its_last_step() -> None:
    for type_token, call in api_rules._CALLS.items():
        shape = api_rules._service_model(call.service).operation_model(call.operation).input_shape
        if call.wrap:
            continue  # PutTargets: checked by the test above
        for target in call.renames.values():
            if target:
                assert _member_path_exists(shape, target), (type_token, target)


# Tag patterns of IAM, Lambda, CloudWatch Logs and SSM are Java's [\p{L}\p{Z}\p{N}_.:/=+\-@]:
# a tag EC2 accepts may be refused there, half-way through a first `pulumi up`.
TAGGED = """
import pulumi_aws as aws
aws.cloudwatch.LogGroup("flow", name="/egress/flow", tags={"Owner": OWNER})
aws.iam.Role("sync", name="egress-sync", assume_role_policy="{}", tags={"Owner": OWNER})
"""


def test_a_tag_value_outside_the_java_unicode_class_fails(tmp_path: Path) -> None:
    source = program_source(tmp_path, "OWNER = 'Team (payments)'\n" + TAGGED)
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(source)
    text = str(caught.value)
    assert "aws:cloudwatch/logGroup:LogGroup flow: tags.Owner (logs CreateLogGroup tags.value)" in (
        text
    )
    assert "aws:iam/role:Role sync: tags[0].Value (iam CreateRole Tags[].Value)" in text


@pytest.mark.parametrize("owner", ["Équipe paiements", "team-payments_1 @ops", "a=b+c:d/e"])
def test_tag_values_the_java_class_accepts_pass(tmp_path: Path, owner: str) -> None:
    # \p{L} is every Unicode letter, \p{Z} every separator: nothing AWS accepts is refused.
    engine.synth(program_source(tmp_path, f"OWNER = {owner!r}\n" + TAGGED))


def test_dns_firewall_inputs_are_checked_against_route53resolver(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    group = aws.route53.ResolverFirewallRuleGroup("rules", name="egress rules")
    domains = aws.route53.ResolverFirewallDomainList("allow", name="allow", domains=["a.example"])
    aws.route53.ResolverFirewallRule(
        "allow", name="allow", action="DENY", priority=100,
        firewall_rule_group_id=group.id, firewall_domain_list_id=domains.id,
    )
    aws.route53.ResolverFirewallRuleGroupAssociation(
        "vpc", name="x" * 65, priority=101, vpc_id="vpc-1", firewall_rule_group_id=group.id,
        mutation_protection="ON",
    )
    aws.route53.ResolverFirewallConfig("vpc", resource_id="vpc-1", firewall_fail_open="YES")
    """
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, code))
    text = str(caught.value)
    assert "action (route53resolver CreateFirewallRule Action): 'DENY' is not one of" in text
    assert "name (route53resolver AssociateFirewallRuleGroup Name): 65 characters" in text
    assert "mutationProtection (route53resolver AssociateFirewallRuleGroup" in text
    assert "firewallFailOpen (route53resolver UpdateFirewallConfig FirewallFailOpen)" in text
    assert "ResolverFirewallRuleGroup rules" not in text  # a space is in Resolver's names


def test_load_balancing_inputs_are_checked_against_elbv2(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    group = aws.lb.TargetGroup(
        "app", name="app", port=8443, protocol="HTTPS", target_type="ip", vpc_id="vpc-1",
        health_check={"interval": 1, "healthy_threshold": 3, "path": "/healthz"},
    )
    aws.lb.TargetGroupAttachment("app", target_group_arn=group.arn, target_id="10.0.0.1",
                                 port=70000)
    aws.lb.Listener(
        "app", load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:111122223333:"
        "loadbalancer/app/a/1", port=443, protocol="HTTP2",
        default_actions=[{"type": "forward", "target_group_arn": group.arn}],
    )
    """
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, code))
    text = str(caught.value)
    assert (
        "healthCheck.interval (elbv2 CreateTargetGroup HealthCheckIntervalSeconds): "
        "1 is below the minimum 5"
    ) in text
    assert "port (elbv2 RegisterTargets Targets[].Port): 70000 is above the maximum 65535" in text
    assert "protocol (elbv2 CreateListener Protocol): 'HTTP2' is not one of" in text
    assert "healthyThreshold" not in text and "HealthCheckPath" not in text


def test_an_operation_the_installed_botocore_lacks_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = dict(api_rules._CALLS)
    calls["aws:networkfirewall/ruleGroup:RuleGroup"] = api_rules.ApiCall(
        "network-firewall", "CreateRuleGroupFromTheFuture"
    )
    monkeypatch.setattr(api_rules, "_CALLS", calls)
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, "NAME = 'allow'\n" + RULE_GROUP))
    assert "its network-firewall model has no CreateRuleGroupFromTheFuture" in str(caught.value)
    assert "pip install -U boto3" in str(caught.value)


def test_an_empty_tag_map_is_not_sent_so_not_refused(tmp_path: Path) -> None:
    # elbv2 Tags has min 1; the provider sends no Tags member for an empty map.
    code = """
    import pulumi_aws as aws
    aws.lb.TargetGroup("app", name="app", port=443, protocol="TCP", vpc_id="vpc-1", tags={})
    """
    engine.synth(program_source(tmp_path, code))


def test_values_the_provider_upper_cases_are_checked_as_sent(tmp_path: Path) -> None:
    # terraform-provider-aws elbv2 listener.go and target_group.go: protocol (listener) and
    # health_check.protocol validated case-insensitively, sent upper-cased: no false refusal.
    code = """
    import pulumi_aws as aws
    group = aws.lb.TargetGroup(
        "app", name="app", port=8443, protocol="HTTPS", vpc_id="vpc-1",
        health_check={"protocol": "https", "path": "/healthz"},
    )
    aws.lb.Listener(
        "app", load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:111122223333:"
        "loadbalancer/app/a/1", port=443, protocol="https",
        default_actions=[{"type": "forward", "target_group_arn": group.arn}],
    )
    """
    engine.synth(program_source(tmp_path, code))
