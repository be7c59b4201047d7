"""Names of several stacks in shared accounts and regions: duplicates and names AWS refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from egress_net import engine, name_check
from egress_net.cli import main
from egress_net.commands.synth import stacks_in
from egress_net.recording import RecordedResource, Recording

RULE_GROUP = "aws:networkfirewall/ruleGroup:RuleGroup"


def resource(
    type_: str, logical: str, provider: str | None = None, **inputs: Any
) -> RecordedResource:
    urn = f"urn:pulumi:s::egress-net::{type_}::{logical}"
    return RecordedResource(type_, logical, urn, "id", inputs, dict(inputs), None, provider)


def stack(name: str, *resources: RecordedResource, account: str | None = None) -> Recording:
    config: dict[str, Any] = {"aws:region": "us-east-1"}
    if account:
        config["egress-net:accountId"] = account
    return Recording("egress-net", name, list(resources), config=config)


def test_two_stacks_with_one_rule_group_name_are_reported() -> None:
    report = name_check.check_names(
        [
            stack("dev", resource(RULE_GROUP, "hub-rg-a", name="egress-allow-domains-c100")),
            stack("prod", resource(RULE_GROUP, "hub-rg-a", name="egress-allow-domains-c100")),
        ]
    )
    (dup,) = report.duplicates
    assert (dup.namespace, dup.name, dup.scope) == (
        "rule group",
        "egress-allow-domains-c100",
        "(no accountId)/us-east-1",
    )
    assert [(h.stack, h.resource) for h in dup.holders] == [
        ("dev", "hub-rg-a"),
        ("prod", "hub-rg-a"),
    ]
    assert not report.ok
    text = name_check.render(report)
    assert "duplicate rule group 'egress-allow-domains-c100' in (no accountId)/us-east-1:" in text
    assert "    dev: hub-rg-a" in text and "Result: 1 duplicate names, 0 invalid names" in text


def test_stacks_in_different_accounts_meet_only_in_global_names() -> None:
    def one(name: str, account: str) -> Recording:
        return stack(
            name,
            resource(RULE_GROUP, "g", name="same-group"),
            resource("aws:iam/role:Role", "r", name="same-role"),
            resource("aws:s3/bucket:Bucket", "b", bucket="same-bucket"),
            account=account,
        )

    report = name_check.check_names([one("a", "111111111111"), one("b", "222222222222")])
    where_deployed = [d for d in report.duplicates if not d.shared]
    assert [(d.namespace, d.scope) for d in where_deployed] == [("S3 bucket", "global")]


def test_stacks_of_other_accounts_and_regions_are_also_checked_in_one_account_and_region() -> None:
    # A user copies the examples into one sandbox account: names that only differ in where
    # the stack files say they deploy collide there.
    a = stack("a", resource(RULE_GROUP, "g", name="same-group"), account="111111111111")
    b = stack("b", resource(RULE_GROUP, "g", name="same-group"))
    b.config["aws:region"] = "eu-west-1"
    report = name_check.check_names([a, b])
    (dup,) = report.duplicates
    assert (dup.namespace, dup.shared, [h.stack for h in dup.holders]) == (
        "rule group",
        True,
        ["a", "b"],
    )
    assert not report.ok
    text = name_check.render(report)
    assert "duplicate rule group 'same-group' if the stacks share one account and region:" in text
    assert "Result: 1 duplicate names" in text


def test_in_one_account_a_stack_s_other_accounts_stay_apart() -> None:
    # A hub declaring a spoke's resources through a role in the spoke's account names them
    # like its own: two accounts by design, no collision in either pass.
    provider = RecordedResource(
        "pulumi:providers:aws",
        "payments-account",
        "urn:pulumi:s::egress-net::pulumi:providers:aws::payments-account",
        "p",
        {"assumeRoles": [{"roleArn": "arn:aws:iam::444455556666:role/d"}]},
        {},
        None,
        None,
    )
    hub = stack(
        "hub",
        provider,
        resource("aws:iam/role:Role", "own", name="flow-logs"),
        resource("aws:iam/role:Role", "spoke", provider=f"{provider.urn}::p", name="flow-logs"),
        account="111122223333",
    )
    assert name_check.check_names([hub]).duplicates == []


def test_role_names_differ_in_more_than_case_and_types_have_own_namespaces() -> None:
    report = name_check.check_names(
        [
            stack("a", resource("aws:iam/role:Role", "r", name="Egress-Role")),
            stack(
                "b",
                resource("aws:iam/role:Role", "r", name="egress-role"),
                # A firewall and a rule group may share a name: different namespaces.
                resource("aws:networkfirewall/firewall:Firewall", "f", name="x"),
                resource(RULE_GROUP, "g", name="x"),
            ),
        ]
    )
    assert [(d.namespace, d.name) for d in report.duplicates] == [("IAM role", "Egress-Role")]


def test_a_provider_assuming_a_role_places_resources_in_that_account() -> None:
    provider = RecordedResource(
        "pulumi:providers:aws",
        "payments-account",
        "urn:pulumi:s::egress-net::pulumi:providers:aws::payments-account",
        "p",
        {"region": "eu-west-1", "assumeRoles": [{"roleArn": "arn:aws:iam::444455556666:role/d"}]},
        {},
        None,
        None,
    )
    ref = f"{provider.urn}::p"
    named = name_check.named_resources(
        stack("hub", provider, resource(RULE_GROUP, "g", provider=ref, name="n"))
    )
    assert [n.scope for n in named] == ["444455556666/eu-west-1"]


def test_invalid_names_are_reported_with_their_rule() -> None:
    report = name_check.check_names(
        [
            stack(
                "team.prod_1",
                resource(
                    "aws:lambda/function:Function", "fn", name="egress-net-team.prod_1-et-et-sync"
                ),
                # Auto-named: the logical name plus "-" and 7 random characters must fit 64.
                resource("aws:iam/role:Role", "r" * 57),
                # Lower-cased by pulumi-aws's bucket auto-naming: valid.
                resource("aws:s3/bucket:Bucket", "Hub-Records"),
            )
        ]
    )
    assert [(i.holder.namespace, i.holder.generated) for i in report.invalid] == [
        ("Lambda function", False),
        ("IAM role", True),
    ]
    text = name_check.render(report)
    assert "invalid Lambda function 'egress-net-team.prod_1-et-et-sync' (team.prod_1: fn):" in text
    assert "(Lambda CreateFunction FunctionName)" in text
    assert f"invalid IAM role '{'r' * 57}-<random>'" in text
    assert "65 characters; AWS allows 1-64" in text


def test_generated_names_never_collide() -> None:
    report = name_check.check_names(
        [stack(s, resource("aws:networkfirewall/firewall:Firewall", "hub-firewall")) for s in "ab"]
    )
    assert report.ok and len(report.resources) == 2


# --- the repository's stacks -------------------------------------------------------------------


def test_the_repository_stacks_share_an_account_without_a_collision(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--all", "--project-dir", str(repo)]) == 0
    out = capsys.readouterr().out
    assert f"Physical names of {len(stacks_in(repo))} stacks" in out
    assert "Result: 0 duplicate names, 0 invalid names" in out
    # AWS's default quotas are notes (adjustable per account), not failures.
    assert "note: if the stacks share one account and region, " in out
    assert "VPCs: AWS's default quota is 5" in out


def test_a_stack_named_with_dot_and_underscore_gets_valid_distinct_names(repo: Path) -> None:
    # prod's config (the ET function, rule groups, logs) under a name Pulumi allows and
    # most AWS types do not: every name valid, none shared with prod in the same account.
    # With a name at Pulumi's 100-character limit and one of symbols only beside them.
    prod = engine.load_source("prod", repo)
    # Without prod's spoke stacks: they attach to prod, and another hub refuses to serve them.
    copied = {k: v for k, v in prod.config.items() if k != "egress-net:spokeStacks"}
    odd = [
        engine.StackSource(prod.project_dir, stack, dict(copied))
        for stack in ("team.prod_1", "Team-Prod-1" + "x" * 89, "_.-")
    ]
    recordings = [engine.synth(source).recording for source in (prod, *odd)]
    report = name_check.check_names(recordings)
    assert report.invalid == [] and report.duplicates == []
    names = {n.name for n in report.resources if n.stack == "team.prod_1" and not n.generated}
    assert any(n.startswith("egress-net-team-prod-1-") for n in names)
    assert "/egress-net/team.prod_1/hub/alert" in names


def test_synth_needs_a_stack_or_all(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--project-dir", str(repo)]) == 2
    assert "name a stack, or give --all" in capsys.readouterr().err
    assert main(["synth", "dev", "--all", "--project-dir", str(repo)]) == 2


def test_synth_all_fails_on_a_stack_that_does_not_synthesize(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in repo.iterdir():
        if path.name in {"Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py", "rules"}:
            (tmp_path / path.name).symlink_to(path)
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  aws:region: us-east-1\n")
    (tmp_path / "Pulumi.two words.yaml").write_text("config:\n  aws:region: us-east-1\n")
    assert main(["synth", "--all", "--project-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stack broken does not synthesize:" in out and "2 stacks failed" in out
    assert "stack two words does not synthesize: not a stack name Pulumi accepts" in out
