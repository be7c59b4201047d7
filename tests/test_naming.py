"""Physical names: valid for their AWS type and distinct per stack, for any stack Pulumi allows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egress_net import naming
from egress_net.naming import NAME_RULES, StackNames

PROJECT = "egress-net"
# Whatever `pulumi stack init` accepts: ^[a-zA-Z0-9-_.]+$, at most 100 characters.
stack_names = st.from_regex(r"\A[A-Za-z0-9_.-]{1,100}\Z")
project_names = st.from_regex(r"\A[A-Za-z0-9_.-]{1,100}\Z").filter(
    lambda p: not p.lower().startswith(("aws", "ssm"))
)
# What the program passes as a purpose: component names, rules-layer group names (up to 128).
purposes = st.from_regex(r"\A[a-z][a-z0-9-]{0,127}\Z")


def every_name(names: StackNames, purpose: str) -> dict[str, str]:
    """One name of each type the program declares, for this stack and purpose."""
    function = names.lambda_function(purpose)
    return {
        "network-firewall": names.rule_group(purpose),
        "lambda-function": function,
        "iam-role": names.iam_role(purpose),
        "event-rule": names.event_rule(purpose),
        "sns-topic": names.sns_topic(purpose),
        "ram-share": names.ram_share(purpose),
        "log-group": names.log_group(purpose, "alert"),
        "ssm-parameter": names.ssm_parameter(purpose, "applied-version"),
        "lambda-log-group": naming.lambda_log_group(function),
    }


def problems_of(names: StackNames, purpose: str) -> dict[str, list[str]]:
    found = {}
    for kind, name in every_name(names, purpose).items():
        rule = NAME_RULES["log-group" if kind == "lambda-log-group" else kind]
        if rule.problems(name):
            found[kind] = rule.problems(name)
    return found


@given(stack=stack_names, project=project_names, purpose=purposes)
def test_every_name_is_valid_for_its_type(stack: str, project: str, purpose: str) -> None:
    assert problems_of(StackNames(project, stack), purpose) == {}


@given(a=stack_names, b=stack_names, purpose=purposes)
def test_distinct_stacks_never_share_a_name(a: str, b: str, purpose: str) -> None:
    if a == b:
        return
    first, second = (
        every_name(StackNames(PROJECT, a), purpose),
        every_name(StackNames(PROJECT, b), purpose),
    )
    for kind, name in first.items():
        rule = NAME_RULES["log-group" if kind == "lambda-log-group" else kind]
        assert rule.key(name) != rule.key(second[kind]), (kind, name)


@given(stack=stack_names, purpose=purposes)
def test_look_alike_stacks_never_share_a_name(stack: str, purpose: str) -> None:
    # Random pairs rarely differ only where sanitizing looks: build those pairs on purpose.
    variants = {
        stack.replace(".", "-").replace("_", "-"),
        stack.replace("-", "_"),
        stack.replace("-", "."),
        stack.lower(),
        stack.upper(),
        stack.replace("-", "--"),
    } - {stack}
    names = every_name(StackNames(PROJECT, stack), purpose)
    for variant in variants:
        if not naming.STACK_RE.fullmatch(variant):
            continue
        other = every_name(StackNames(PROJECT, variant), purpose)
        for kind, name in names.items():
            rule = NAME_RULES["log-group" if kind == "lambda-log-group" else kind]
            assert rule.key(name) != rule.key(other[kind]), (kind, stack, variant)


@given(stack=stack_names, a=purposes, b=purposes)
def test_distinct_purposes_never_share_a_name(stack: str, a: str, b: str) -> None:
    if a == b:
        return
    names = StackNames(PROJECT, stack)
    assert names.rule_group(a) != names.rule_group(b)
    assert names.lambda_function(a) != names.lambda_function(b)


@given(stack=stack_names)
def test_the_token_never_holds_a_double_hyphen(stack: str) -> None:
    # So "<token>--et-" (the ET groups) is never the start of another stack's names.
    token = StackNames(PROJECT, stack).token
    assert "--" not in token and len(token) <= naming.TOKEN_MAX


def test_sanitizing_keeps_look_alike_stacks_apart() -> None:
    dotted, plain = StackNames(PROJECT, "team.prod_1"), StackNames(PROJECT, "team-prod-1")
    assert plain.lambda_function("et-sync") == "egress-net-team-prod-1-et-sync"
    assert dotted.lambda_function("et-sync").startswith("egress-net-team-prod-1-")
    assert dotted.lambda_function("et-sync") != plain.lambda_function("et-sync")
    assert problems_of(dotted, "hub-et-sync") == {}
    # IAM compares role names without case: "Prod" and "prod" must differ in more than case.
    upper, lower = StackNames(PROJECT, "Prod"), StackNames(PROJECT, "prod")
    assert upper.iam_role("x").lower() != lower.iam_role("x").lower()


def test_readable_names_for_plain_stacks() -> None:
    names = StackNames(PROJECT, "prod")
    assert (
        names.rule_group("egress-allow-domains-c100") == "egress-net-prod-egress-allow-domains-c100"
    )
    assert names.log_group("hub", "alert") == "/egress-net/prod/hub/alert"
    assert names.ssm_parameter("hub-et-sync", "v") == "/egress-net/prod/hub-et-sync/v"
    assert names.et_rule_group_prefix == "egress-net-prod-"


def test_long_names_keep_their_start_and_differ_by_hash() -> None:
    names = StackNames(PROJECT, "s" * 100)
    assert len(names.token) == naming.TOKEN_MAX
    long_a, long_b = names.rule_group("g" * 120 + "-c100"), names.rule_group("g" * 120 + "-c200")
    assert len(long_a) == len(long_b) == 128 and long_a != long_b


@pytest.mark.parametrize(
    ("kind", "name", "problem"),
    [
        ("network-firewall", "egress_net.dev", "characters outside"),
        ("network-firewall", "x" * 129, "129 characters"),
        ("lambda-function", "egress-net-team.prod_1-et-et-sync", "characters outside"),
        ("iam-role", "r" * 65, "65 characters"),
        ("iam-role", "rôle", "characters outside"),
        ("s3-bucket", "Logs-Bucket", "characters outside"),
        ("s3-bucket", "a..b", "adjacent periods"),
        ("s3-bucket", "ab", "2 characters"),
        ("ssm-parameter", "/aws/egress/x", "must not begin with 'aws'"),
        ("ssm-parameter", "/a" * 16, "15 levels"),
        ("event-rule", "rule/with/slash", "characters outside"),
        ("log-group", "/a b", "characters outside"),
    ],
)
def test_rules_refuse_what_aws_refuses(kind: str, name: str, problem: str) -> None:
    assert any(problem in p for p in NAME_RULES[kind].problems(name))


def test_pulumi_refuses_the_stack_so_names_do_too() -> None:
    with pytest.raises(ValueError, match="not a Pulumi stack name"):
        StackNames(PROJECT, "org/proj/dev")
