"""The EmergingThreatsSync component under Pulumi mocks: what it declares, and how scoped."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.settings import SETTINGS_ENV, SyncSettings

GROUP_ARN = "arn:aws:network-firewall:eu-west-1:111122223333:stateful-rulegroup/{}"


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource; gives each a deterministic id and ARN."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.parents: dict[str, tuple[str, str]] = {}
        self.urns: dict[str, str] = {}
        self.ignore_changes: dict[str, list[str]] = {}
        self.delete_before_replace: dict[str, bool] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        outputs = dict(args.inputs)
        kind = args.typ.split(":")[-1].lower()
        outputs.setdefault("arn", f"arn:aws:{kind}:eu-west-1:111122223333:{args.name}")
        if args.typ == "aws:networkfirewall/ruleGroup:RuleGroup":
            outputs["arn"] = GROUP_ARN.format(args.inputs["name"])
        if args.typ == "aws:s3/bucket:Bucket":
            outputs.setdefault("bucket", f"{args.name}-bucket")
        if args.typ == "aws:cloudwatch/logGroup:LogGroup":
            outputs["arn"] = f"arn:aws:logs:eu-west-1:111122223333:log-group:{args.inputs['name']}"
        if args.typ == "aws:ssm/parameter:Parameter":
            outputs["arn"] = f"arn:aws:ssm:eu-west-1:111122223333:parameter{args.inputs['name']}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []

    def of_type(self, token: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == token]

    def one(self, token: str) -> dict[str, Any]:
        found = self.of_type(token)
        assert len(found) == 1, f"{token}: {len(found)}"
        return dict(found[0].inputs)


class ParentRecordingMonitor(MockMonitor):
    """Also records each registration's parent URN (MockResourceArgs has no parent)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorder = mocks

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        self.recorder.parents[request.name] = (request.type, request.parent)
        self.recorder.ignore_changes[request.name] = list(request.ignoreChanges)
        self.recorder.delete_before_replace[request.name] = request.deleteBeforeReplace
        self.recorder.urns[request.name] = response.urn
        return response


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    loop = asyncio.new_event_loop()  # a fresh loop per test: Pulumi keeps state on it
    asyncio.set_event_loop(loop)
    recorder = RecordingMocks()
    pulumi.runtime.set_mocks(
        recorder,
        project="egress-net",
        stack="test",
        preview=False,
        monitor=ParentRecordingMonitor(recorder),
    )
    yield recorder
    pulumi.runtime.settings.reset_options()
    asyncio.set_event_loop(None)
    loop.close()


def _declare(config: EmergingThreatsConfig, **extra: Any) -> None:
    from egress_net.components.et_sync import (
        EmergingThreatsGroups,
        EmergingThreatsGroupsArgs,
        EmergingThreatsSync,
        EmergingThreatsSyncArgs,
    )

    external = extra.pop("external_net", [])

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        groups = EmergingThreatsGroups(
            "hub-et-groups",
            EmergingThreatsGroupsArgs(
                config=config,
                home_net=["10.0.0.0/8"],
                external_net=external,
            ),
        )
        component = EmergingThreatsSync(
            "hub-et-sync",
            EmergingThreatsSyncArgs(
                groups=groups.groups,
                home_net=["10.0.0.0/8"],
                external_net=external,
                config=config,
                **extra,
            ),
        )
        return pulumi.Output.all(component.function_arn, component.bucket_name)

    program()


CONFIG = EmergingThreatsConfig.model_validate(
    {
        "enabled": True,
        "schedule": "rate(12 hours)",
        "excludeCategories": ["emerging-info"],
        "idsToIpsCategories": ["malware"],
        "logRetentionDays": 90,
        "groups": 3,
        "groupCapacity": 2000,
    }
)


def test_declares_function_role_schedule_parameter_and_bucket(mocks: RecordingMocks) -> None:
    _declare(CONFIG)
    function = mocks.one("aws:lambda/function:Function")
    assert function["runtime"] == "python3.12"
    assert function["handler"] == "egress_net.et_sync.handler.handler"
    # No reserved concurrency: it fails in accounts at the unreserved minimum (new ones).
    assert "reservedConcurrentExecutions" not in function
    # Project and stack in every name another stack in the account could also want.
    assert function["name"] == "egress-net-test-hub-et-sync"
    assert mocks.one("aws:iam/role:Role")["name"] == "egress-net-test-hub-et-sync"
    assert mocks.one("aws:cloudwatch/eventRule:EventRule")["name"] == "egress-net-test-hub-et-sync"
    assert mocks.one("aws:sns/topic:Topic")["name"] == "egress-net-test-hub-et-sync-alarms"
    settings = SyncSettings.from_env(function["environment"]["variables"])
    assert [(g.name, g.capacity, g.arn) for g in settings.groups] == [
        (f"egress-net-test-et-{i}-c2000", 2000, GROUP_ARN.format(f"egress-net-test-et-{i}-c2000"))
        for i in (1, 2, 3)
    ]
    assert settings.firewall_mode == "drop"
    assert settings.home_net == ("10.0.0.0/8",)
    assert settings.exclude_categories == ("info",)
    assert settings.ids_to_ips_categories == ("malware",)
    assert settings.version_parameter == "/egress-net/test/hub-et-sync/applied-version"
    assert settings.bucket == "hub-et-sync-records-bucket"
    assert settings.prefix == "et-sync/"

    assert mocks.one("aws:cloudwatch/eventRule:EventRule")["scheduleExpression"] == "rate(12 hours)"
    target = mocks.one("aws:cloudwatch/eventTarget:EventTarget")
    assert target["arn"].endswith("hub-et-sync-function")
    permission = mocks.one("aws:lambda/permission:Permission")
    assert permission["principal"] == "events.amazonaws.com"
    parameter = mocks.one("aws:ssm/parameter:Parameter")
    assert parameter["insecureValue"] == "none"  # readable by the function, not a secret
    assert mocks.one("aws:cloudwatch/logGroup:LogGroup") == {
        "name": "/aws/lambda/egress-net-test-hub-et-sync",
        "retentionInDays": 90,
        "tags": {"egress-net:component": "et-sync"},
    }
    private = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert private["blockPublicPolicy"] and private["restrictPublicBuckets"]
    trust = json.loads(mocks.one("aws:iam/role:Role")["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_children_are_parented_to_the_component(mocks: RecordingMocks) -> None:
    _declare(CONFIG)
    component_urn = mocks.urns["hub-et-sync"]
    assert mocks.parents["hub-et-sync"][0] == "egress-net:index:EmergingThreatsSync"
    children = [name for name, (_kind, parent) in mocks.parents.items() if parent == component_urn]
    # function, role, policy, schedule, target, permission, parameter, log group, alarm
    # topic, on-failure config, two alarms, and the records bucket with its public access
    # block, encryption, versioning, lifecycle and policy
    assert len(children) == 18
    groups_urn = mocks.urns["hub-et-groups"]
    assert sorted(n for n, (_kind, parent) in mocks.parents.items() if parent == groups_urn) == [
        "hub-et-groups-1",
        "hub-et-groups-2",
        "hub-et-groups-3",
    ]
    encryption = (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert mocks.one(encryption)["rules"]


def test_declared_groups_start_harmless_and_pulumi_leaves_their_rules_alone(
    mocks: RecordingMocks,
) -> None:
    from egress_net.components.et_sync import FUNCTION_WRITES

    _declare(CONFIG)
    # registration order is not deterministic: by name
    groups = sorted(
        mocks.of_type("aws:networkfirewall/ruleGroup:RuleGroup"), key=lambda g: g.inputs["name"]
    )
    assert [g.inputs["name"] for g in groups] == [
        f"egress-net-test-et-{i}-c2000" for i in (1, 2, 3)
    ]
    for index, group in enumerate(groups):
        assert group.inputs["capacity"] == 2000 and group.inputs["type"] == "STATEFUL"
        rules = group.inputs["ruleGroup"]["rulesSource"]["rulesString"]
        assert rules.startswith("alert ip 192.0.2.0/32 any -> 192.0.2.0/32 any")
        assert f"sid:{1_999_001 + index};" in rules
        variables = group.inputs["ruleGroup"]["ruleVariables"]["ipSets"]
        assert variables == [{"key": "HOME_NET", "ipSet": {"definitions": ["10.0.0.0/8"]}}]
    # what the function writes, and nothing else (capacity, name, type stay Pulumi's)
    assert FUNCTION_WRITES == ["ruleGroup.rulesSource", "ruleGroup.ruleVariables", "description"]
    for name in ("hub-et-groups-1", "hub-et-groups-2", "hub-et-groups-3"):
        assert mocks.ignore_changes[name] == FUNCTION_WRITES
    assert mocks.ignore_changes["hub-et-sync-function"] == []


def test_a_new_capacity_is_a_new_group_created_before_the_old_is_deleted(
    mocks: RecordingMocks,
) -> None:
    """Capacity is fixed at creation (CreateRuleGroup): the same logical group gets a new
    physical name, so Pulumi replaces it, creating the new one while the policy still
    references the old, and deleting the old one last."""
    bigger = EmergingThreatsConfig.model_validate(
        {**CONFIG.model_dump(by_alias=True), "groupCapacity": 2500}
    )
    _declare(bigger)
    by_logical = {
        g.name: g.inputs for g in mocks.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    }
    assert by_logical["hub-et-groups-1"]["name"] == "egress-net-test-et-1-c2500"
    assert by_logical["hub-et-groups-1"]["capacity"] == 2500
    assert mocks.delete_before_replace["hub-et-groups-1"] is False


def test_groups_of_a_tgw_attached_firewall_set_home_and_external_net(
    mocks: RecordingMocks,
) -> None:
    _declare(CONFIG, external_net=["0.0.0.0/5", "11.0.0.0/8"])
    for group in mocks.of_type("aws:networkfirewall/ruleGroup:RuleGroup"):
        variables = group.inputs["ruleGroup"]["ruleVariables"]["ipSets"]
        assert {v["key"]: v["ipSet"]["definitions"] for v in variables} == {
            "HOME_NET": ["10.0.0.0/8"],
            "EXTERNAL_NET": ["0.0.0.0/5", "11.0.0.0/8"],
        }
    function = mocks.one("aws:lambda/function:Function")
    settings = SyncSettings.from_env(function["environment"]["variables"])
    assert settings.ip_sets["EXTERNAL_NET"] == ("0.0.0.0/5", "11.0.0.0/8")


TOPIC_ARN = "arn:aws:topic:eu-west-1:111122223333:hub-et-sync-alarms"


def test_the_role_can_only_fill_the_declared_groups(mocks: RecordingMocks) -> None:
    _declare(CONFIG)
    policy = json.loads(mocks.one("aws:iam/rolePolicy:RolePolicy")["policy"])
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    # One writer per resource: the policy belongs to Pulumi, and so do the groups themselves.
    assert {a for a in actions if a.startswith("network-firewall:")} == {
        "network-firewall:DescribeRuleGroup",
        "network-firewall:DescribeRuleGroupMetadata",
        "network-firewall:UpdateRuleGroup",
    }
    assert "network-firewall:UpdateFirewallPolicy" not in actions
    assert resources["FillTheDeclaredEtGroups"] == [
        GROUP_ARN.format(f"egress-net-test-et-{i}-c2000") for i in (1, 2, 3)
    ]
    assert resources["AppliedVersion"] == [
        "arn:aws:ssm:eu-west-1:111122223333:parameter/egress-net/test/hub-et-sync/applied-version"
    ]
    assert resources["ManifestsAndRejectReports"] == [
        "arn:aws:s3:::hub-et-sync-records-bucket/et-sync/*"
    ]
    log_group = (
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/egress-net-test-hub-et-sync"
    )
    assert resources["OwnLogs"] == [log_group, f"{log_group}:log-stream:*"]
    assert resources["FailureNotices"] == [TOPIC_ARN]
    assert not any("*" == arn for arns in resources.values() for arn in arns)
    assert not any(a.endswith("*") for a in actions)
    assert "cloudwatch:PutMetricData" not in actions  # metrics go through the log (EMF)


def test_failed_runs_and_capacity_shortage_raise_alarms(mocks: RecordingMocks) -> None:
    _declare(CONFIG)
    invoke = mocks.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert invoke["destinationConfig"] == {"onFailure": {"destination": TOPIC_ARN}}
    alarms = {
        a.inputs["metricName"]: a.inputs
        for a in mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert alarms["Errors"]["namespace"] == "AWS/Lambda"
    assert alarms["Errors"]["dimensions"] == {"FunctionName": "egress-net-test-hub-et-sync"}
    assert alarms["CapacityShort"]["namespace"] == "EgressNet/EtSync"
    assert alarms["CapacityShort"]["dimensions"] == {"FunctionName": "egress-net-test-hub-et-sync"}
    for alarm in alarms.values():
        assert alarm["alarmActions"] == [TOPIC_ARN]
        assert alarm["threshold"] == 1
    assert mocks.of_type("aws:lambda/invocation:Invocation") == []  # nothing runs it in a deploy


def test_the_settings_fit_lambdas_environment_quota_with_the_most_groups(
    mocks: RecordingMocks,
) -> None:
    """Lambda quotas: 4 KB for all of a function's environment variables. The worst case:
    the most groups the function's timeout allows (12) and a TGW-attached EXTERNAL_NET (the
    complement of the supernets)."""
    import ipaddress

    from egress_net import addressing
    from egress_net.et_sync.apply import max_groups

    most = max_groups(0.001)
    config = EmergingThreatsConfig.model_validate(
        {**CONFIG.model_dump(by_alias=True), "groups": most, "timeoutSeconds": 0.001}
    )
    external = [str(n) for n in addressing.complement([ipaddress.ip_network("10.0.0.0/8")])]
    _declare(config, external_net=external)
    variables = mocks.one("aws:lambda/function:Function")["environment"]["variables"]
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    assert size <= 4096, size
    settings = SyncSettings.from_env(variables)
    assert len(settings.groups) == most == 12
    assert settings.groups[-1].name == "egress-net-test-et-12-c2000"


def test_memory_leaves_room_above_the_extract_cap(mocks: RecordingMocks) -> None:
    from egress_net.et_sync.settings import EXTRACT_PEAK_FACTOR

    _declare(CONFIG)
    function = mocks.one("aws:lambda/function:Function")
    settings = SyncSettings.from_env(function["environment"]["variables"])
    peak_mb = EXTRACT_PEAK_FACTOR * settings.max_extracted_bytes / (1024 * 1024)
    assert peak_mb <= function["memorySize"] / 2


def test_given_bucket_is_used_instead_of_a_new_one(mocks: RecordingMocks) -> None:
    config = EmergingThreatsConfig.model_validate(
        {**CONFIG.model_dump(by_alias=True), "bucketPrefix": "/security/et/"}
    )
    _declare(config, bucket_name="central-security-records")
    assert mocks.of_type("aws:s3/bucket:Bucket") == []
    policy = json.loads(mocks.one("aws:iam/rolePolicy:RolePolicy")["policy"])
    s3 = next(s for s in policy["Statement"] if s["Sid"] == "ManifestsAndRejectReports")
    assert s3["Resource"] == ["arn:aws:s3:::central-security-records/security/et/*"]
    env = mocks.one("aws:lambda/function:Function")["environment"]["variables"]
    settings = json.loads(env[SETTINGS_ENV])
    assert settings["bucket"] == "central-security-records"
    assert settings["prefix"] == "security/et/"  # the same prefix the IAM statement allows


# What the Lambda Python runtime has besides the standard library: boto3 and what it imports
# (AWS Lambda Developer Guide, "Building Lambda functions with Python": the runtime includes
# the SDK for Python (Boto3)).
LAMBDA_RUNTIME_PACKAGES = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "six",
)
# Run in a fresh interpreter, isolated (-I: no current folder, no PYTHONPATH): only the
# standard library, the runtime's packages and the zip can be imported.
SANDBOX = """
import importlib, sys, zipfile
archive, allowed = sys.argv[1], {"egress_net", *sys.argv[2].split(",")}
class OnlyTheRuntime:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top not in sys.stdlib_module_names and top not in allowed:
            raise ImportError(f"not in the Lambda runtime: {name}")
sys.meta_path.insert(0, OnlyTheRuntime())
sys.path.insert(0, archive)
names = [n[:-3].replace("/", ".").removesuffix(".__init__")
         for n in zipfile.ZipFile(archive).namelist()]
for name in sorted(names):
    module = importlib.import_module(name)
    assert module.__file__.startswith(archive), (name, module.__file__)
from egress_net.et_sync.handler import handler, Clients
from egress_net.et_sync.plan import build_plan
from egress_net.et_sync.settings import GroupSlot, SyncSettings
settings = SyncSettings(
    source_url="https://rules.example/et.tar.gz",
    groups=(GroupSlot(name="g", capacity=100),),
    home_net=("10.0.0.0/8",),
)
rules = 'alert tcp $HOME_NET any -> $EXTERNAL_NET 443 (msg:"x"; sid:2000001; rev:1;)\\n'
plan = build_plan({"emerging-info.rules": rules}, settings, version="v")
print(len(names), plan.total_rules)
"""


def test_packaged_code_runs_with_only_stdlib_and_boto3(tmp_path: Path) -> None:
    """Every module of the package imports, and a plan is built, in a clean interpreter that
    can import nothing but the standard library, boto3 and its dependencies, and the zip (the
    Lambda has no pydantic, no pulumi, nothing else from this project's environment)."""
    from egress_net import lambda_package

    files = lambda_package.package_files()
    assert "egress_net/et_sync/model.py" not in files
    archive = tmp_path / "code.zip"
    archive.write_bytes(lambda_package.build_zip(files))
    done = subprocess.run(
        [sys.executable, "-I", "-c", SANDBOX, str(archive), ",".join(LAMBDA_RUNTIME_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(files)), "1"]


def test_the_sandbox_refuses_what_the_runtime_lacks(tmp_path: Path) -> None:
    """The check above can fail: a packaged module importing pydantic is caught."""
    from egress_net import lambda_package

    files = dict(lambda_package.package_files())
    extra = tmp_path / "uses_pydantic.py"
    extra.write_text("import pydantic\n")
    files["egress_net/et_sync/uses_pydantic.py"] = extra
    archive = tmp_path / "code.zip"
    archive.write_bytes(lambda_package.build_zip(files))
    done = subprocess.run(
        [sys.executable, "-I", "-c", SANDBOX, str(archive), ",".join(LAMBDA_RUNTIME_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "not in the Lambda runtime: pydantic" in done.stderr


def _copy_of_the_project(root: Path) -> Path:
    """The declared files under ``root``, as in a checkout."""
    from egress_net import lambda_package

    for name, source in lambda_package.package_files().items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    return root


def test_the_function_gets_the_declared_files_only(
    mocks: RecordingMocks, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stray files beside the function's modules (an untracked module, bytecode, a file in a
    folder the function does not use) never reach the package Pulumi uploads."""
    from egress_net import lambda_package

    root = _copy_of_the_project(tmp_path / "checkout")
    (root / "egress_net/et_sync/debug_patch.py").write_text("OPEN = True\n")
    (root / "egress_net/et_sync/__pycache__").mkdir()
    (root / "egress_net/et_sync/__pycache__/handler.cpython-312.pyc").write_bytes(b"\0" * 16)
    (root / "egress_net/rules/notes.txt").write_text("scratch\n")
    (root / "egress_net/et_sync/model.py").write_text("import pydantic\n")
    monkeypatch.setattr(lambda_package, "project_root", lambda: root)
    _declare(CONFIG)
    code = mocks.one("aws:lambda/function:Function")["code"]
    assert isinstance(code, pulumi.FileArchive) and str(code.path).endswith(".zip")
    with zipfile.ZipFile(code.path) as archive:
        assert tuple(archive.namelist()) == tuple(sorted(lambda_package.PACKAGED_FILES))
    # Same sources, same bytes: Lambda's CodeSha256 is reproducible from the checkout.
    data = Path(code.path).read_bytes()
    assert data == lambda_package.build_zip(lambda_package.package_files(root))
