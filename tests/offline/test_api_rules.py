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
