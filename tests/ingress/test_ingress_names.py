"""Load balancer and target group names: valid for ELB (32 characters) for any stack and
application name the config accepts, and distinct between stacks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from egress_net.naming import NAME_RULES, StackNames

stack_names = st.from_regex(r"\A[A-Za-z0-9_.-]{1,100}\Z")
# What config accepts as an application name (config._APP_NAME).
app_names = st.from_regex(r"\A(?:[a-z][a-z0-9-]{0,14}[a-z0-9]|[a-z])\Z")
ELB = NAME_RULES["elb"]


def _names(stack: str, app: str) -> list[str]:
    names = StackNames("egress-net", stack)
    return [
        names.load_balancer(app, "alb"),
        names.load_balancer(app, "nlb"),
        names.target_group(app, "HTTPS", 65535),
        names.target_group(app, "TCP", 1),
    ]


@given(stack=stack_names, app=app_names)
def test_every_elb_name_is_valid(stack: str, app: str) -> None:
    for name in _names(stack, app):
        assert ELB.problems(name) == [], name


@given(a=stack_names, b=stack_names, app=app_names)
def test_two_stacks_never_share_an_elb_name(a: str, b: str, app: str) -> None:
    if a != b:
        assert not {ELB.key(n) for n in _names(a, app)} & {ELB.key(n) for n in _names(b, app)}


def test_a_short_stack_keeps_the_whole_name() -> None:
    assert StackNames("egress-net", "dev").load_balancer("shop", "alb") == "egress-net-dev-shop-alb"
