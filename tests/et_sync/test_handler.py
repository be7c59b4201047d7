"""The whole sync: loopback HTTP source, Network Firewall via Stubber, S3 and SSM via moto.

Each fault test starts from a "last applied" state (SSM version and ``latest.json``) and
shows the failure leaves it, and the firewall, exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
import uuid
from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber

from egress_net.et_sync import handler as handler_module
from egress_net.et_sync.errors import (
    ApplyError,
    CategoryError,
    EmptyPlanError,
    FetchError,
    QuotaExceededError,
    SyncError,
)
from egress_net.et_sync.handler import Clients, run_sync
from egress_net.et_sync.plan import build_plan
from egress_net.et_sync.settings import SETTINGS_ENV, Quotas, SyncSettings

from . import nfw_stub as nfw
from .conftest import RulesServer, build_tarball

PARAMETER = "/egress-net/hub/et-sync/version"
PREVIOUS = "0123456789abcdef0123456789abcdef"


class _Env:
    """One sync setup: settings, clients, the stub, and the captured log lines."""

    def __init__(self, server: RulesServer, tarball: bytes, s3: Any, ssm: Any) -> None:
        self.url = server.publish(tarball)
        self.bucket = f"et-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=self.bucket)
        ssm.put_parameter(Name=PARAMETER, Value=PREVIOUS, Type="String", Overwrite=True)
        s3.put_object(Bucket=self.bucket, Key="et/latest.json", Body=b'{"version": "previous"}')
        self.s3, self.ssm = s3, ssm
        self.client, self.stub = nfw.make_client()
        self.settings = SyncSettings(
            source_url=self.url,
            policy_arn=nfw.POLICY_ARN,
            rule_group_prefix="hub",
            version_parameter=PARAMETER,
            bucket=self.bucket,
            prefix="et/",
            home_net=("10.0.0.0/8",),
            timeout_seconds=2.0,
        )
        self.logs: list[dict[str, Any]] = []

    def log(self, event: str, **fields: Any) -> None:
        self.logs.append({"event": event, **fields})

    def run(self, **kwargs: Any) -> dict[str, Any]:
        clients = Clients(network_firewall=self.client, s3=self.s3, ssm=self.ssm)
        with self.stub:
            result = run_sync(self.settings, clients, log=self.log, **kwargs)
            self.stub.assert_no_pending_responses()
        return result

    def result_line(self) -> dict[str, Any]:
        return next(line for line in self.logs if line["event"] == "et_sync_result")

    def version(self) -> str:
        return str(self.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])

    def latest(self) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=self.bucket, Key="et/latest.json")["Body"].read()
        return dict(json.loads(body))

    def assert_last_applied_in_force(self) -> None:
        assert self.version() == PREVIOUS
        assert self.latest() == {"version": "previous"}
        line = self.result_line()
        assert line["status"] == "failed"
        assert line["SyncFailed"] == 1


def _expect_empty_policy_reads(stub: Stubber, times: int = 2) -> None:
    for _ in range(times):  # once to plan, once inside apply (a fresh token)
        nfw.expect_describe_policy(stub, nfw.policy_body([]))


def test_full_ruleset_is_applied_and_recorded(
    rules_server: RulesServer, full_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, full_tarball, s3, ssm)
    files = {m: t for m, t in _rules_files(full_tarball).items()}
    expected = build_plan(files, env.settings, version="v", strict_order=True)
    _expect_empty_policy_reads(env.stub)
    for group in expected.groups:
        nfw.expect_create(env.stub, group)
    nfw.expect_update_policy(env.stub, "ptok-1")
    summary = env.run()

    md5 = hashlib.md5(full_tarball).hexdigest()
    assert summary["status"] == "applied"
    assert summary["created"] == len(expected.groups) <= 10
    assert env.version() == md5  # written last, after the firewall and the manifest
    latest = env.latest()
    assert latest["version"] == md5
    assert latest["totals"]["rules"] == expected.total_rules > 20_000
    assert latest["totals"]["capacity"] == expected.total_capacity <= 25_000
    assert {g["arn"] for g in latest["groups"]} == {nfw.group_arn(g.name) for g in expected.groups}
    rejected = json.loads(
        s3.get_object(Bucket=env.bucket, Key=f"et/rejected/{md5}.json")["Body"].read()
    )
    assert rejected["countsByReason"]["unsupported-keyword:threshold"] > 1000
    assert all(rule["where"] and rule["reason"] for rule in rejected["rules"])
    line = env.result_line()
    assert line["status"] == "applied" and line["SyncFailed"] == 0
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "EgressNet/EtSync"


def _rules_files(tarball: bytes) -> dict[str, str]:
    from egress_net.et_sync.fetch import extract_rules

    return extract_rules(tarball, where="test", max_extracted_bytes=1 << 30)


def test_unchanged_version_downloads_nothing_and_touches_nothing(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    ssm.put_parameter(Name=PARAMETER, Value=hashlib.md5(small_tarball).hexdigest(), Overwrite=True)
    # one read to see our groups are still attached; any other call fails the stub
    nfw.expect_describe_policy(env.stub, nfw.policy_body([nfw.group_arn("hub-et-dns-c30")]))
    summary = env.run()
    assert summary["status"] == "unchanged"
    assert rules_server.served.requests == ["/emerging.rules.tar.gz.md5"]
    assert env.latest() == {"version": "previous"}


def test_unchanged_version_is_reapplied_when_the_policy_lost_our_groups(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """A hub deploy rewrote the policy from its declaration, detaching the ET groups."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    md5 = hashlib.md5(small_tarball).hexdigest()
    ssm.put_parameter(Name=PARAMETER, Value=md5, Overwrite=True)
    expected = build_plan(_rules_files(small_tarball), env.settings, version=md5)
    nfw.expect_describe_policy(env.stub, nfw.policy_body([]))  # no ET group left
    _expect_empty_policy_reads(env.stub)
    for group in expected.groups:
        nfw.expect_create(env.stub, group)
    nfw.expect_update_policy(env.stub, "ptok-1")
    assert env.run()["status"] == "applied"
    assert any(line["event"] == "et_groups_detached" for line in env.logs)


def test_force_reapplies_the_same_version(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    md5 = hashlib.md5(small_tarball).hexdigest()
    ssm.put_parameter(Name=PARAMETER, Value=md5, Overwrite=True)
    expected = build_plan(_rules_files(small_tarball), env.settings, version=md5)
    _expect_empty_policy_reads(env.stub)
    for group in expected.groups:
        nfw.expect_create(env.stub, group)
    nfw.expect_update_policy(env.stub, "ptok-1")
    assert env.run(force=True)["status"] == "applied"


def _fault_500(server: RulesServer, tarball: bytes) -> None:
    server.served.status = 500


def _fault_slow(server: RulesServer, tarball: bytes) -> None:
    server.served.delay_seconds = 2.5  # the settings allow 2 s


def _fault_md5(server: RulesServer, tarball: bytes) -> None:
    server.served.bodies["/emerging.rules.tar.gz.md5"] = b"f" * 32


def _fault_corrupt(server: RulesServer, tarball: bytes) -> None:
    corrupt = tarball[:300] + b"\x00" * (len(tarball) - 300)
    server.publish(corrupt)


def _fault_dotdot(server: RulesServer, tarball: bytes) -> None:
    evil = tarfile.TarInfo("rules/../../../tmp/evil.rules")
    evil.size = 10
    server.publish(build_tarball({"tor.rules": b"# nothing\n"}, extra=[evil]))


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (_fault_500, "HTTP 500"),
        (_fault_slow, "no answer within 2s"),
        (_fault_md5, "md5 mismatch"),
        (_fault_corrupt, "corrupt gzip data"),
        (_fault_dotdot, "path leaves the archive"),
    ],
    ids=["http-500", "timeout", "md5-mismatch", "corrupt-tarball", "dotdot-member"],
)
def test_source_faults_leave_the_last_applied_rules_in_force(
    fault: Any,
    message: str,
    rules_server: RulesServer,
    small_tarball: bytes,
    s3: Any,
    ssm: Any,
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    fault(rules_server, small_tarball)
    with pytest.raises(FetchError, match=message):
        env.run()  # no firewall responses stubbed: no firewall call may happen
    env.assert_last_applied_in_force()


def test_ruleset_over_quota_is_refused_with_the_overage_and_categories(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(
        env.settings,
        quotas=Quotas(policy_capacity=300, reserved_capacity=200, headroom_percent=0),
    )
    nfw.expect_describe_policy(env.stub, nfw.policy_body([]))  # read only
    with pytest.raises(QuotaExceededError) as err:
        env.run()
    text = str(err.value)
    # dns (21 accepted rules) + scan (199) = 220 against 300 - 200 reserved
    assert "needs 220 stateful capacity but 100 is available" in text
    assert "over by 120" in text
    assert "Exclude categories: scan" in text  # the one category that frees enough
    env.assert_last_applied_in_force()


def test_stale_policy_token_during_sync_is_retried(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    expected = build_plan(_rules_files(small_tarball), env.settings, version="v")
    _expect_empty_policy_reads(env.stub)
    for group in expected.groups:
        nfw.expect_create(env.stub, group)
    env.stub.add_client_error("update_firewall_policy", "InvalidTokenException", "stale", 400)
    nfw.expect_describe_policy(env.stub, nfw.policy_body([]), token="ptok-2")
    nfw.expect_update_policy(env.stub, "ptok-2")
    assert env.run()["status"] == "applied"
    assert env.version() == hashlib.md5(small_tarball).hexdigest()


def test_policy_failure_halfway_through_replacement_keeps_previous_rules(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """The previous sync left one ET group that is now too small: it must be replaced.
    The policy switch fails: the new groups are deleted, the old group stays attached and
    untouched, and neither the SSM version nor the manifest moves."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    expected = build_plan(_rules_files(small_tarball), env.settings, version="v")
    old = expected.groups[0]
    old_name = f"{old.key}-c1"
    for _ in range(2):
        nfw.expect_describe_policy(env.stub, nfw.policy_body([nfw.group_arn(old_name)]))
        nfw.expect_describe_group(env.stub, old_name, old.key, 1, "old rules", token="t-old")
    replanned = build_plan(
        _rules_files(small_tarball), env.settings, version="v", current_capacities={old.key: 1}
    )
    for group in replanned.groups:
        nfw.expect_create(env.stub, group)
    env.stub.add_client_error("update_firewall_policy", "InternalServerError", "boom", 500)
    for group in replanned.groups:
        nfw.expect_delete(env.stub, group.name)
    with pytest.raises(ApplyError, match="policy step failed"):
        env.run()
    env.assert_last_applied_in_force()


def test_handler_reads_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(settings: SyncSettings, clients: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(settings=settings, **kwargs)
        return {"status": "planned"}

    settings = SyncSettings(policy_arn=nfw.POLICY_ARN, home_net=("10.1.0.0/16",))
    monkeypatch.setenv(SETTINGS_ENV, settings.to_json())
    monkeypatch.setattr(handler_module, "run_sync", fake_run)
    monkeypatch.setattr(Clients, "from_boto3", classmethod(lambda cls: None))
    assert handler_module.handler({"dryRun": True}, None) == {"status": "planned"}
    assert seen["settings"] == settings
    assert seen["dry_run"] is True and seen["force"] is False


@pytest.mark.parametrize(
    ("raw", "problem"),
    [(None, "not set"), ("{oops", "not valid JSON"), ('{"colour": 1}', "unknown settings")],
)
def test_bad_settings_environment_is_a_clear_error(raw: str | None, problem: str) -> None:
    env = {} if raw is None else {SETTINGS_ENV: raw}
    with pytest.raises(SyncError, match=problem):
        SyncSettings.from_env(env)


def _expect_reads_with_one_et_group(env: _Env, tarball: bytes) -> str:
    """The policy references one ET group from the last run: the state a refusal must keep."""
    group = build_plan(_rules_files(tarball), env.settings, version="v").groups[0]
    name = f"{group.key}-c{group.capacity}"
    nfw.expect_describe_policy(env.stub, nfw.policy_body([nfw.group_arn(name)]))
    nfw.expect_describe_group(env.stub, name, group.key, group.capacity, "old rules")
    return name


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (
            {"include_categories": ("malwre",)},
            "rules.emergingThreats.includeCategories: unknown category 'malwre'",
        ),
        (
            {"exclude_categories": ("dsn",)},
            "rules.emergingThreats.excludeCategories: unknown category 'dsn' (did you mean 'dns'?)",
        ),
        (
            {"ids_to_ips_categories": ("scna",)},
            "rules.emergingThreats.idsToIpsCategories: unknown category 'scna'",
        ),
    ],
    ids=["include", "exclude", "ids-to-ips"],
)
def test_unknown_category_fails_the_run_and_keeps_the_last_applied_rules(
    selection: dict[str, tuple[str, ...]],
    message: str,
    dry_run: bool,
    rules_server: RulesServer,
    small_tarball: bytes,
    s3: Any,
    ssm: Any,
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    _expect_reads_with_one_et_group(env, small_tarball)
    env.settings = replace(env.settings, **selection)
    # Only the two reads are stubbed: a create, update, policy switch or delete fails the stub.
    with pytest.raises(CategoryError, match=re.escape(message)):
        env.run(dry_run=dry_run)
    env.stub.assert_no_pending_responses()
    env.assert_last_applied_in_force()
    assert "categories in this ruleset: dns, scan, tor" in env.result_line()["error"]


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_plan_without_groups_is_refused_while_et_groups_are_in_force(
    dry_run: bool, rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """tor exists, but every tor rule is rejected: applying would detach every ET group."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    _expect_reads_with_one_et_group(env, small_tarball)
    env.settings = replace(env.settings, include_categories=("tor",))
    with pytest.raises(EmptyPlanError, match="no ET rule groups but 1 is in force"):
        env.run(dry_run=dry_run)
    env.stub.assert_no_pending_responses()
    env.assert_last_applied_in_force()


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_plan_without_groups_is_refused_on_a_first_run_too(
    dry_run: bool, rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """No ET group in force yet: an empty plan would report success while protecting nothing."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, include_categories=("tor",))
    nfw.expect_describe_policy(env.stub, nfw.policy_body([]))
    with pytest.raises(EmptyPlanError, match="the plan has no ET rule groups; the function"):
        env.run(dry_run=dry_run)
    env.stub.assert_no_pending_responses()
    assert env.result_line()["status"] != "unchanged-rules"
