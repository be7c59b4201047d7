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
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from egress_net.et_sync import handler as handler_module
from egress_net.et_sync.apply import GROUP_WRITE_BUDGET_MS as BUDGET
from egress_net.et_sync.apply import sync_marker
from egress_net.et_sync.errors import (
    ApplyError,
    CategoryError,
    EmptyPlanError,
    FetchError,
    SyncError,
)
from egress_net.et_sync.handler import Clients, run_sync
from egress_net.et_sync.plan import SyncPlan, build_plan
from egress_net.et_sync.settings import SETTINGS_ENV, SyncSettings

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
            groups=nfw.slots(8, 3_100),
            version_parameter=PARAMETER,
            bucket=self.bucket,
            prefix="et/",
            home_net=("10.0.0.0/8",),
            timeout_seconds=2.0,
        )
        self.logs: list[dict[str, Any]] = []

    def log(self, event: str, **fields: Any) -> None:
        self.logs.append({"event": event, **fields})

    def run(self, *, client: Any = None, **kwargs: Any) -> dict[str, Any]:
        firewall = client or self.client
        clients = Clients(network_firewall=firewall, s3=self.s3, ssm=self.ssm)
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

    def plan(self, tarball: bytes, version: str | None = None) -> SyncPlan:
        md5 = version or hashlib.md5(tarball).hexdigest()
        return build_plan(_rules_files(tarball), self.settings, version=md5)

    def marker(self, tarball: bytes) -> str:
        return sync_marker(hashlib.md5(tarball).hexdigest(), self.settings.fingerprint())

    def expect_rollback(self, group: str, written: str, tarball: bytes) -> None:
        """The group is read back with what this sync wrote (its marker on it), then gets
        its previous rules ("old rules") back."""
        nfw.expect_describe_group(
            self.stub, group, 200, written, token="t-a2", description=self.marker(tarball)
        )
        nfw.expect_update_group(self.stub, group, "t-a2", rules="old rules")


def _expect_fill(stub: Stubber, plan: SyncPlan) -> None:
    """Every declared group still holds the placeholder and is written once (a group left
    with the placeholder too: it gets the run's marker)."""
    for index, group in enumerate(plan.groups):
        slot = nfw.slots(len(plan.groups), group.capacity)[index]
        nfw.expect_placeholder(stub, slot, index, token=f"tok-{index}")
        nfw.expect_update_group(stub, group.name, f"tok-{index}", rules=group.rules_string)


def test_full_ruleset_is_applied_and_recorded(
    rules_server: RulesServer, full_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, full_tarball, s3, ssm)
    expected = env.plan(full_tarball)
    _expect_fill(env.stub, expected)  # describe + update of each declared group, nothing else
    summary = env.run()

    md5 = hashlib.md5(full_tarball).hexdigest()
    assert summary["status"] == "applied"
    assert summary["updated"] == len(expected.filled) == 8
    assert env.version() == md5  # written last, after the firewall and the manifest
    latest = env.latest()
    assert latest["version"] == md5
    assert latest["totals"]["rules"] == expected.total_rules > 20_000
    assert latest["totals"]["neededCapacity"] == expected.needed_capacity <= 8 * 3_100
    assert [g["arn"] for g in latest["groups"]] == [slot.arn for slot in env.settings.groups]
    rejected = json.loads(
        s3.get_object(Bucket=env.bucket, Key=f"et/rejected/{md5}.json")["Body"].read()
    )
    assert rejected["countsByReason"]["unsupported-keyword:threshold"] > 1000
    assert all(rule["where"] and rule["reason"] for rule in rejected["rules"])
    line = env.result_line()
    assert line["status"] == "applied" and line["SyncFailed"] == 0
    assert line["CapacityShort"] == 0
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "EgressNet/EtSync"


def _rules_files(tarball: bytes) -> dict[str, str]:
    from egress_net.et_sync.fetch import extract_rules

    return extract_rules(tarball, where="test", max_extracted_bytes=1 << 30)


def test_unchanged_version_downloads_nothing_and_touches_nothing(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 300))
    ssm.put_parameter(Name=PARAMETER, Value=hashlib.md5(small_tarball).hexdigest(), Overwrite=True)
    # metadata reads only: every group carries this version's marker
    for slot in env.settings.groups:
        nfw.expect_metadata(env.stub, slot.name, env.marker(small_tarball))
    summary = env.run()
    assert summary["status"] == "unchanged"
    assert rules_server.served.requests == ["/emerging.rules.tar.gz.md5"]
    assert env.latest() == {"version": "previous"}


def test_unchanged_version_is_reapplied_to_a_group_pulumi_replaced(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """`pulumi up` replaced group 2 (a capacity raise): it holds the placeholder."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 300))
    md5 = hashlib.md5(small_tarball).hexdigest()
    ssm.put_parameter(Name=PARAMETER, Value=md5, Overwrite=True)
    expected = env.plan(small_tarball)
    first, second = env.settings.groups
    nfw.expect_metadata(env.stub, first.name, env.marker(small_tarball))
    nfw.expect_metadata(env.stub, second.name, "placeholder")
    group = expected.groups[0]
    nfw.expect_describe_group(
        env.stub,
        first.name,
        300,
        group.rules_string,
        description=env.marker(small_tarball),
        body={
            "RulesSource": {"RulesString": group.rules_string},
            "RuleVariables": dict(group.rule_variables),
        },
    )
    # the plan fits one group: group 2 keeps the placeholder rules but gets the marker
    assert expected.groups[1].placeholder
    nfw.expect_placeholder(env.stub, second, 1, token="tok-2")
    nfw.expect_update_group(env.stub, second.name, "tok-2", rules=expected.groups[1].rules_string)
    assert env.run()["status"] == "applied"
    assert any(line["event"] == "et_groups_out_of_date" for line in env.logs)


def test_force_reapplies_the_same_version(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    md5 = hashlib.md5(small_tarball).hexdigest()
    ssm.put_parameter(Name=PARAMETER, Value=md5, Overwrite=True)
    _expect_fill(env.stub, env.plan(small_tarball))
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


def test_rules_that_outgrow_the_groups_keep_the_last_applied_and_say_what_is_needed(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """dns (21 accepted rules) + scan (199) = 220 against 2 groups of 100: nothing is
    written; the plan in the records bucket names the capacity to configure."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 100))
    summary = env.run()  # no firewall response stubbed: no firewall call may happen
    md5 = hashlib.md5(small_tarball).hexdigest()
    assert summary["status"] == "over-capacity"
    assert env.version() == PREVIOUS
    assert env.latest() == {"version": "previous"}
    line = env.result_line()
    assert line["CapacityShort"] == 1 and line["SyncFailed"] == 0
    record = json.loads(s3.get_object(Bucket=env.bucket, Key=f"et/plans/{md5}.json")["Body"].read())
    assert summary["plan"] == f"et/plans/{md5}.json"
    assert record["declared"] == {"groups": 2, "groupCapacity": 100}
    assert record["needed"]["totalCapacity"] == 220
    assert record["needed"]["groupCapacity"] >= 110
    assert "groupCapacity: " in record["problems"][0] and "pulumi up" in record["problems"][0]


def test_token_conflict_during_sync_is_retried(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(1, 300))
    (group,) = env.plan(small_tarball).groups
    (slot,) = env.settings.groups
    nfw.expect_placeholder(env.stub, slot, 0, token="stale")
    env.stub.add_client_error("update_rule_group", "InvalidTokenException", "stale", 400)
    nfw.expect_placeholder(env.stub, slot, 0, token="fresh")
    nfw.expect_update_group(env.stub, slot.name, "fresh", rules=group.rules_string)
    summary = env.run()
    assert summary["status"] == "applied" and summary["tokenConflicts"] == 1
    assert env.version() == hashlib.md5(small_tarball).hexdigest()


def test_failure_halfway_through_keeps_previous_rules(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """The second group's write fails: the first gets its previous rules back, and neither
    the SSM version nor the manifest moves."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 200))
    first, second = env.plan(small_tarball).groups
    assert not second.placeholder
    slot_a, slot_b = env.settings.groups
    nfw.expect_describe_group(env.stub, slot_a.name, 200, "old rules", token="t-a")
    nfw.expect_update_group(env.stub, slot_a.name, "t-a", rules=first.rules_string)
    nfw.expect_describe_group(env.stub, slot_b.name, 200, "old rules", token="t-b")
    env.stub.add_client_error("update_rule_group", "InternalServerError", "boom", 500)
    env.expect_rollback(slot_a.name, first.rules_string, small_tarball)
    with pytest.raises(ApplyError, match=f"writing {slot_b.name} failed"):
        env.run()
    env.assert_last_applied_in_force()


def test_a_connection_error_halfway_through_rolls_back(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """Not a ClientError: the connection drops on the second write."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 200))
    first, _second = env.plan(small_tarball).groups
    slot_a, slot_b = env.settings.groups
    nfw.expect_describe_group(env.stub, slot_a.name, 200, "old rules", token="t-a")
    nfw.expect_update_group(env.stub, slot_a.name, "t-a", rules=first.rules_string)
    nfw.expect_describe_group(env.stub, slot_b.name, 200, "old rules", token="t-b")
    env.expect_rollback(slot_a.name, first.rules_string, small_tarball)
    dropped = EndpointConnectionError(endpoint_url="https://network-firewall.us-east-1")
    client = nfw.FailingOn(env.client, "update_rule_group", 2, dropped)
    with pytest.raises(ApplyError, match="EndpointConnectionError"):
        env.run(client=client)
    env.assert_last_applied_in_force()


def test_an_unexpected_error_is_logged_as_failed_and_raised(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(1, 300))
    dropped = EndpointConnectionError(endpoint_url="https://network-firewall.us-east-1")
    client = nfw.FailingOn(env.client, "describe_rule_group", 1, dropped)
    with pytest.raises(ApplyError):
        env.run(client=client)
    env.assert_last_applied_in_force()


class FakeLambdaContext:
    """The part of Lambda's context the sync reads: the time left, one value per question
    (the last one repeats)."""

    def __init__(self, *remaining_ms: int) -> None:
        self.answers = list(remaining_ms)
        self.asked = 0

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_running_out_of_time_after_the_first_group_rolls_it_back(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """Lambda would end the run mid-apply with no rollback: the run stops itself before the
    second group, while there is still time to put the first one back."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 200))
    first, _second = env.plan(small_tarball).groups
    slot_a, _slot_b = env.settings.groups
    # Room for write + rollback of one group at first, then two groups' budgets: not enough
    # to write the second group and roll both back (three), plenty to roll back the first.
    context = FakeLambdaContext(900_000, 2 * BUDGET)
    nfw.expect_describe_group(env.stub, slot_a.name, 200, "old rules", token="t-a")
    nfw.expect_update_group(env.stub, slot_a.name, "t-a", rules=first.rules_string)
    env.expect_rollback(slot_a.name, first.rules_string, small_tarball)
    with pytest.raises(ApplyError, match=rf"stopped before writing .*{2 * BUDGET} ms of the"):
        env.run(remaining_ms=context.get_remaining_time_in_millis)
    assert context.asked == 2
    env.assert_last_applied_in_force()  # SSM version, manifest, SyncFailed metric
    assert any(line["event"] == "deadline_stop" for line in env.logs)
    assert "rolled back" in env.result_line()["error"]


def test_too_little_time_for_even_one_group_writes_nothing(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 200))
    context = FakeLambdaContext(2 * BUDGET - 1)  # under write + rollback of one group
    with pytest.raises(ApplyError, match="stopped before writing"):
        env.run(remaining_ms=context.get_remaining_time_in_millis)  # no firewall call at all
    env.assert_last_applied_in_force()


def test_enough_time_applies_every_group(
    rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(2, 200))
    plan = env.plan(small_tarball)
    _expect_fill(env.stub, plan)
    context = FakeLambdaContext(900_000, 3 * BUDGET)  # exactly write + rollback of two groups
    assert env.run(remaining_ms=context.get_remaining_time_in_millis)["status"] == "applied"
    assert context.asked == 2


def test_handler_reads_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(settings: SyncSettings, clients: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(settings=settings, **kwargs)
        return {"status": "planned"}

    settings = SyncSettings(groups=nfw.slots(2, 500), home_net=("10.1.0.0/16",))
    monkeypatch.setenv(SETTINGS_ENV, settings.to_json())
    monkeypatch.setattr(handler_module, "run_sync", fake_run)
    monkeypatch.setattr(Clients, "from_boto3", classmethod(lambda cls: None))
    assert handler_module.handler({"dryRun": True}, None) == {"status": "planned"}
    assert seen["settings"] == settings
    assert seen["dry_run"] is True and seen["force"] is False
    assert seen["remaining_ms"] is None  # called by hand: no deadline
    context = FakeLambdaContext(5_000)
    handler_module.handler({}, context)
    assert seen["remaining_ms"]() == 5_000 and context.asked == 1


@pytest.mark.parametrize(
    ("raw", "problem"),
    [(None, "not set"), ("{oops", "not valid JSON"), ('{"colour": 1}', "unknown settings")],
)
def test_bad_settings_environment_is_a_clear_error(raw: str | None, problem: str) -> None:
    env = {} if raw is None else {SETTINGS_ENV: raw}
    with pytest.raises(SyncError, match=problem):
        SyncSettings.from_env(env)


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
    env.settings = replace(env.settings, **selection)
    # Nothing is stubbed: any firewall call fails the stub.
    with pytest.raises(CategoryError, match=re.escape(message)):
        env.run(dry_run=dry_run)
    env.stub.assert_no_pending_responses()
    env.assert_last_applied_in_force()
    assert "categories in this ruleset: dns, scan, tor" in env.result_line()["error"]


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_plan_without_rules_is_refused(
    dry_run: bool, rules_server: RulesServer, small_tarball: bytes, s3: Any, ssm: Any
) -> None:
    """tor exists, but every tor rule is rejected: applied, the plan would put the
    placeholder in every group, or on a first run report success while protecting nothing."""
    env = _Env(rules_server, small_tarball, s3, ssm)
    env.settings = replace(env.settings, include_categories=("tor",))
    with pytest.raises(EmptyPlanError, match="the plan has no ET rule groups; the function"):
        env.run(dry_run=dry_run)
    env.stub.assert_no_pending_responses()
    env.assert_last_applied_in_force()


def test_a_feed_pass_rule_is_never_written(
    rules_server: RulesServer, small_files: dict[str, bytes], s3: Any, ssm: Any
) -> None:
    """One pass rule in a category file would open all egress ahead of the allow list."""
    opener = b'pass ip $HOME_NET any -> $EXTERNAL_NET any (msg:"open"; sid:9000001; rev:1;)\n'
    files = dict(small_files)
    files["emerging-dns.rules"] = files["emerging-dns.rules"] + opener
    tarball = build_tarball(files)
    env = _Env(rules_server, tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(1, 300))
    plan = env.plan(tarball)
    assert "pass ip" not in plan.groups[0].rules_string
    assert 9000001 not in plan.groups[0].sids
    _expect_fill(env.stub, plan)
    env.run()
    md5 = hashlib.md5(tarball).hexdigest()
    rejected = json.loads(
        s3.get_object(Bucket=env.bucket, Key=f"et/rejected/{md5}.json")["Body"].read()
    )
    assert rejected["countsByReason"]["feed-action:pass"] == 1
    (rule,) = [r for r in rejected["rules"] if r["sid"] == 9000001]
    assert rule["where"].startswith("emerging-dns.rules:")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ("config: logging disable, type tx, scope tx;", "feed-keyword:config"),
        ('content:"GET"; replace:"PUT";', "feed-keyword:replace"),
        ("bypass;", "feed-keyword:bypass"),
    ],
)
def test_a_feed_alert_that_does_more_than_alert_is_never_written(
    rules_server: RulesServer,
    small_files: dict[str, bytes],
    s3: Any,
    ssm: Any,
    options: str,
    reason: str,
) -> None:
    """``config`` hides the traffic it matches from the logs, ``replace`` rewrites it,
    ``bypass`` stops inspecting it: in an alert rule of the feed, each is refused and
    counted by reason in the rejected report, while the rest of the file is applied."""
    hider = (
        f'alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"hide"; {options} '
        "sid:9000002; rev:1;)\n"
    ).encode()
    files = dict(small_files)
    files["emerging-dns.rules"] = files["emerging-dns.rules"] + hider
    tarball = build_tarball(files)
    env = _Env(rules_server, tarball, s3, ssm)
    env.settings = replace(env.settings, groups=nfw.slots(1, 300))
    plan = env.plan(tarball)
    assert 9000002 not in plan.groups[0].sids and plan.groups[0].sids
    _expect_fill(env.stub, plan)
    env.run()
    md5 = hashlib.md5(tarball).hexdigest()
    rejected = json.loads(
        s3.get_object(Bucket=env.bucket, Key=f"et/rejected/{md5}.json")["Body"].read()
    )
    assert rejected["countsByReason"][reason] == 1
    (rule,) = [r for r in rejected["rules"] if r["sid"] == 9000002]
    assert rule["reason"] == reason and rule["where"].startswith("emerging-dns.rules:")


def test_noalert_and_flowbits_of_the_feed_are_kept() -> None:
    """The ET idiom (a rule that only sets a flowbit for a later one) stays: ``noalert``
    silences that rule's own alert and nothing else."""
    from egress_net.et_sync.model import EmergingThreatsConfig

    files = {
        "emerging-dns.rules": (
            'alert tls $HOME_NET any -> $EXTERNAL_NET any (msg:"set"; flowbits:set,et.x; '
            "flowbits:noalert; sid:1; rev:1;)\n"
            'alert tls $HOME_NET any -> $EXTERNAL_NET any (msg:"quiet"; noalert; sid:2; rev:1;)\n'
            'alert tls $HOME_NET any -> $EXTERNAL_NET any (msg:"use"; flowbits:isset,et.x; '
            "sid:3; rev:1;)\n"
        )
    }
    cfg = EmergingThreatsConfig(groups=1, group_capacity=100)
    plan = build_plan(files, cfg.to_settings(), version="v")
    assert sorted(plan.groups[0].sids) == [1, 2, 3]
    assert not [r for r in plan.rejected if r.reason.startswith("feed-")]
