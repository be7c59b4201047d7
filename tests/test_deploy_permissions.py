"""The shipped IAM policies of the cross-account deploy roles allow exactly what the program's
resources in those accounts need: derived from the recorded resources' types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from egress_net.deploy_permissions import (
    PROVIDER_TYPE,
    UnmappedTypes,
    actions_for_types,
    policy_actions,
    types_by_role,
)
from egress_net.recording import Recording

from .conftest import REPO, hub_config, synth_config

IAM_DOCS = REPO / "docs" / "iam"
SPOKE_ROLE = "arn:aws:iam::222233334444:role/egress-net-spoke-deploy"
OWNER_ROLE = "arn:aws:iam::555566667777:role/egress-net-tgw-owner"
SHARE = ["arn:aws:organizations::111122223333:organization/o-abc123def4"]


def _load(name: str) -> dict[str, Any]:
    return json.loads((IAM_DOCS / name).read_text(encoding="utf-8"))


def _config(model: str) -> dict[str, Any]:
    values = hub_config(
        model=model,
        spokes=[
            {"name": "app", "cidr": "10.1.0.0/16", "accountId": "222233334444",
             "roleArn": SPOKE_ROLE},
            {"name": "data", "cidr": "10.2.0.0/16"},
        ],
        share={"principals": SHARE},
        transitGateway={"ownerRoleArn": OWNER_ROLE},
        firewall={"protections": False},
    )  # fmt: skip
    if model == "centralized-inspection":
        values["egress-net:inspectionVpcCidr"] = "100.64.1.0/24"
    return values


@pytest.fixture(scope="module")
def types_per_role() -> dict[str, set[str]]:
    """Every type recorded under each role, over the models that reach other accounts."""
    union: dict[str, set[str]] = {}
    # The TGW owner accepts every attachment (autoAccept with ownerRoleArn is refused).
    for model in ("egress-only", "centralized-inspection", "tgw-attached"):
        for role, types in types_by_role(synth_config(_config(model))).items():
            union.setdefault(role, set()).update(types)
    return union


@pytest.mark.parametrize(
    ("role", "policy"),
    [(SPOKE_ROLE, "spoke-deploy-role.json"), (OWNER_ROLE, "tgw-owner-role.json")],
)
def test_policy_allows_exactly_what_the_resources_need(
    types_per_role: dict[str, set[str]], role: str, policy: str
) -> None:
    needed = actions_for_types(types_per_role[role])
    allowed = policy_actions(_load(policy))
    assert sorted(needed - allowed) == [], "missing: a deploy would stop half way"
    assert sorted(allowed - needed) == [], "not needed by any resource: remove it"


def test_the_roles_reach_the_resources_they_are_for(types_per_role: dict[str, set[str]]) -> None:
    assert set(types_per_role) == {SPOKE_ROLE, OWNER_ROLE}
    assert "aws:ec2transitgateway/vpcAttachment:VpcAttachment" in types_per_role[SPOKE_ROLE]
    assert "aws:ec2transitgateway/transitGateway:TransitGateway" in types_per_role[OWNER_ROLE]
    assert "aws:ram/resourceShare:ResourceShare" in types_per_role[OWNER_ROLE]


def test_policies_are_scoped_to_the_region_and_name_every_action() -> None:
    for name in ("spoke-deploy-role.json", "tgw-owner-role.json"):
        for statement in _load(name)["Statement"]:
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "<REGION>"}}
            assert all("*" not in action for action in statement["Action"])


def test_trust_policy_admits_the_hub_deployer_under_the_programs_session_name(
    types_per_role: dict[str, set[str]],
) -> None:
    (statement,) = _load("deploy-role-trust.json")["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert set(statement["Principal"]) == {"AWS"}
    session = statement["Condition"]["StringEquals"]["sts:RoleSessionName"]
    recording = synth_config(_config("egress-only"))
    providers = [p for p in recording.of_type(PROVIDER_TYPE) if p.inputs.get("assumeRoles")]
    assert {p.inputs["assumeRoles"][0]["roleArn"] for p in providers} == {SPOKE_ROLE, OWNER_ROLE}
    assert {p.inputs["assumeRoles"][0]["sessionName"] for p in providers} == {session}


def test_a_type_without_actions_is_named() -> None:
    with pytest.raises(UnmappedTypes, match="aws:ec2/vpnGateway:VpnGateway"):
        actions_for_types(["aws:ec2/vpc:Vpc", "aws:ec2/vpnGateway:VpnGateway"])


def test_policy_actions_refuses_wildcards() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
    with pytest.raises(ValueError, match="names each action"):
        policy_actions(document)


def test_the_docs_link_the_policies() -> None:
    text = (REPO / "docs" / "iam.md").read_text(encoding="utf-8")
    for path in sorted(Path(IAM_DOCS).glob("*.json")):
        assert f"iam/{path.name}" in text


def test_same_account_spoke_assumes_nothing(repo: Path) -> None:
    recording: Recording = synth_config(hub_config())
    assert types_by_role(recording) == {}


def test_a_spoke_stack_needs_no_more_than_the_spoke_policy(prod_payments: Recording) -> None:
    """docs/iam.md: a spoke stack runs with its account's own credentials and that policy."""
    types = {r.type for r in prod_payments.resources if r.custom and r.type.startswith("aws:")}
    assert types
    assert actions_for_types(types) <= policy_actions(_load("spoke-deploy-role.json"))
