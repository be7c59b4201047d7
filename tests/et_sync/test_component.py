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

POLICY_ARN = "arn:aws:network-firewall:eu-west-1:111122223333:firewall-policy/hub-policy"


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource; gives each a deterministic id and ARN."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.parents: dict[str, tuple[str, str]] = {}
        self.urns: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        outputs = dict(args.inputs)
        kind = args.typ.split(":")[-1].lower()
        outputs.setdefault("arn", f"arn:aws:{kind}:eu-west-1:111122223333:{args.name}")
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
    from egress_net.components.et_sync import EmergingThreatsSync, EmergingThreatsSyncArgs

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        component = EmergingThreatsSync(
            "hub-et-sync",
            EmergingThreatsSyncArgs(
                firewall_policy_arn=pulumi.Output.from_input(POLICY_ARN),
                rule_group_prefix="hub",
                home_net=["10.0.0.0/8"],
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
    }
)


def test_declares_function_role_schedule_parameter_and_bucket(mocks: RecordingMocks) -> None:
    _declare(CONFIG)
    function = mocks.one("aws:lambda/function:Function")
    assert function["runtime"] == "python3.12"
    assert function["handler"] == "egress_net.et_sync.handler.handler"
    assert function["reservedConcurrentExecutions"] == 1
    # Project and stack in every name another stack in the account could also want.
    assert function["name"] == "egress-net-test-hub-et-sync"
    assert mocks.one("aws:iam/role:Role")["name"] == "egress-net-test-hub-et-sync"
    assert mocks.one("aws:cloudwatch/eventRule:EventRule")["name"] == "egress-net-test-hub-et-sync"
    settings = SyncSettings.from_env(function["environment"]["variables"])
    assert settings.policy_arn == POLICY_ARN
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
    children = {
        name: parent
        for name, (kind, parent) in mocks.parents.items()
        if name != "hub-et-sync" and kind != "pulumi:pulumi:Stack"
    }
    # function, role, policy, schedule, target, permission, parameter, log group, and the
    # records bucket with its public access block, encryption, versioning, lifecycle and
    # policy
    assert len(children) == 14
    assert set(children.values()) == {component_urn}
    encryption = (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert mocks.one(encryption)["rules"]


def test_every_iam_statement_is_scoped(mocks: RecordingMocks) -> None:
    team_group = "arn:aws:network-firewall:eu-west-1:111122223333:stateful-rulegroup/allow-100"
    managed = (
        "arn:aws:network-firewall:eu-west-1:aws-managed:stateful-rulegroup/"
        "MalwareDomainsStrictOrder"
    )
    _declare(CONFIG, policy_references=pulumi.Output.from_input([team_group, managed]))
    policy = json.loads(mocks.one("aws:iam/rolePolicy:RolePolicy")["policy"])
    resources = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    unscoped = [s for s in policy["Statement"] if "*" in s["Resource"]]
    # The one action IAM cannot scope to a resource, which UpdateFirewallPolicy authorises.
    assert [s["Action"] for s in unscoped] == [["network-firewall:ListRuleGroups"]]
    for sid, arns in resources.items():
        assert all(arn.startswith("arn:aws:") for arn in arns if arn != "*"), sid
    assert resources["ReadTheHubPolicy"] == [POLICY_ARN]
    # The new policy body references the ET groups, the team's and the managed groups.
    et_groups = "arn:aws:network-firewall:eu-west-1:111122223333:stateful-rulegroup/hub-et-*"
    assert resources["SwitchTheHubPolicy"] == [POLICY_ARN, et_groups, team_group, managed]
    assert resources["ListTlsConfigurationsForThePolicySwitch"] == [
        "arn:aws:network-firewall:eu-west-1:111122223333:tls-configuration/*"
    ]
    assert resources["ManageEtRuleGroups"] == [
        "arn:aws:network-firewall:eu-west-1:111122223333:stateful-rulegroup/hub-et-*"
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
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not any(a.endswith("*") for a in actions)
    assert "cloudwatch:PutMetricData" not in actions  # metrics go through the log (EMF)


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


def test_packaged_code_runs_with_only_stdlib_and_boto3(tmp_path: Path) -> None:
    """The archive's modules import without pydantic or pulumi (the Lambda has neither)."""
    from egress_net.components.et_sync import lambda_code_files

    files = lambda_code_files()
    assert "egress_net/et_sync/handler.py" in files
    assert "egress_net/et_sync/model.py" not in files
    assert any(path.startswith("egress_net/rules/") for path in files)
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for arcname, path in files.items():
            zf.write(path, arcname)
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pydantic', 'pulumi', 'pulumi_aws', 'yaml'):\n"
        "            raise ImportError('not in the Lambda runtime: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(archive)!r})\n"
        "import egress_net.et_sync.handler as h\n"
        "print(h.__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    # the module came from the archive, not from the source tree
    assert done.stdout.strip() == f"{archive}/egress_net/et_sync/handler.py"
