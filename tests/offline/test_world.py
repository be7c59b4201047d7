"""What the offline world knows: the stack's account, per-account resources, unknown AZs, and
no event loop left behind when the program refuses to run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from egress_net import engine
from egress_net.aws_checks import AwsWouldRefuse
from egress_net.graph.checks import Check, run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.recording import Recording

from ..conftest import hub_config, synth_config
from .conftest import REPO, program_source

TGW = "aws:ec2transitgateway/"


def test_caller_identity_is_the_stack_account_and_resources_live_in_it() -> None:
    rec = synth_config(hub_config(accountId="444455556666"))
    assert (rec.account, rec.account_known) == ("444455556666", True)
    (tgw,) = rec.of_type(TGW + "transitGateway:TransitGateway")
    assert tgw.outputs["ownerId"] == "444455556666"
    assert tgw.outputs["arn"].split(":")[4] == "444455556666"
    assert {r.account for r in rec if r.custom} == {"444455556666"}


def test_a_stack_without_account_runs_as_a_placeholder_it_reports_as_unknown() -> None:
    first = synth_config(hub_config(), stack="team-a")
    second = synth_config(hub_config(), stack="team-b")
    assert not first.account_known and not second.account_known
    assert first.account == engine.placeholder_account(engine.PROJECT, "team-a")
    # Two stacks that name no account are not assumed to share one.
    assert first.account != second.account


def test_a_spoke_stack_in_another_account_attaches_to_the_hub_account_tgw() -> None:
    result = engine.synth(engine.load_source("prod-payments", REPO))
    hub = result.referenced["acme/egress-net/prod"]
    (tgw,) = hub.of_type(TGW + "transitGateway:TransitGateway")
    (attachment,) = result.recording.of_type(TGW + "vpcAttachment:VpcAttachment")
    assert attachment.account == "444455556666" != tgw.account == hub.account
    assert attachment.outputs["vpcOwnerId"] == "444455556666"
    # The hub shares its TGW (RAM) and accepts the listed spoke stack's attachment: the
    # spoke's traffic is inspected.
    shares = hub.of_type("aws:ram/resourceAssociation:ResourceAssociation")
    assert any(s.inputs["resourceArn"] == tgw.outputs["arn"] for s in shares)
    (accepter,) = hub.of_type(TGW + "vpcAttachmentAccepter:VpcAttachmentAccepter")
    assert accepter.inputs["transitGatewayAttachmentId"] == attachment.id
    report = run_checks(graph_from_recordings([result.recording, hub]))
    assert report.ok, [p for f in report.findings for p in f.problems]


def test_a_spoke_declared_through_a_role_lives_in_the_role_account() -> None:
    role = "arn:aws:iam::444455556666:role/egress-net-deploy"
    rec = synth_config(
        hub_config(
            accountId="111122223333",
            spokes=[{"name": "app", "cidr": "10.1.0.0/16", "roleArn": role}],
            share={"principals": ["444455556666"]},
        )
    )
    (attachment,) = [
        a
        for a in rec.of_type(TGW + "vpcAttachment:VpcAttachment")
        if a.name == "app-tgw-attachment"
    ]
    (accepter,) = rec.of_type(TGW + "vpcAttachmentAccepter:VpcAttachmentAccepter")
    assert attachment.account == "444455556666"
    assert accepter.account == "111122223333"  # the TGW owner accepts
    principals = [
        r.inputs["principal"]
        for r in rec.of_type("aws:ram/principalAssociation:PrincipalAssociation")
    ]
    assert "444455556666" in principals


def test_a_subnet_without_az_id_gets_no_made_up_az(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    aws.ec2.Subnet("by-id", vpc_id=vpc.id, cidr_block="10.0.0.0/24", availability_zone_id=AZ)
    aws.ec2.Subnet("anywhere", vpc_id=vpc.id, cidr_block="10.0.1.0/24")
    """
    rec, _, _ = engine.run_program(
        program_source(tmp_path, 'AZ = "use1-az2"\n' + textwrap.dedent(code))
    )
    subnets = {r.name: r for r in rec.of_type("aws:ec2/subnet:Subnet")}
    assert subnets["by-id"].outputs["availabilityZoneId"] == "use1-az2"
    assert subnets["by-id"].outputs["availabilityZone"].startswith("us-east-1")
    anywhere = subnets["anywhere"].outputs
    assert "availabilityZoneId" not in anywhere and "availabilityZone" not in anywhere


def _without_az(rec: Recording, subnet_id: str) -> Recording:
    def strip(values: dict) -> dict:
        return {
            k: v for k, v in values.items() if k not in ("availabilityZoneId", "availabilityZone")
        }

    resources = [
        replace(r, inputs=strip(r.inputs), outputs=strip(r.outputs)) if r.id == subnet_id else r
        for r in rec
    ]
    return replace(rec, resources=resources)


def test_verify_fails_a_subnet_whose_az_is_unknown(dev: Recording) -> None:
    workload = next(
        r
        for r in dev.of_type("aws:ec2/subnet:Subnet")
        if (r.inputs.get("tags") or {}).get("egress-net:tier") == "workload"
    )
    report = run_checks(graph_from_recordings([_without_az(dev, workload.id)]))
    assert not report.ok
    (finding,) = [f for f in report.findings if f.check is Check.AZ_KNOWN]
    assert finding.subnet_id == workload.id and "no AZ ID" in finding.problems[0]
    assert run_checks(graph_from_recordings([dev])).ok  # the untouched stack passes


def test_the_account_check_leaves_no_event_loop_behind() -> None:
    # Credentials for another account than the stack names: the program refuses, no event loop
    # is left open (the collector would close it at interpreter exit and print a traceback).
    script = textwrap.dedent(
        f"""
        import asyncio, gc, sys
        from pathlib import Path
        from egress_net import engine
        from egress_net.errors import ConfigError
        source = engine.load_source("dev", Path({str(REPO)!r}))
        source.config["egress-net:accountId"] = "444455556666"
        try:
            engine.synth(source, account="111122223333")
        except ConfigError as err:
            print(err.where)
        loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]
        print("open loops:", sum(not loop.is_closed() for loop in loops))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.stdout.split("\n")[:2] == ["egress-net:accountId", "open loops: 0"], done.stdout
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr


def test_the_report_says_whether_the_account_is_known() -> None:
    from egress_net import synth_report

    known = synth_config(hub_config(accountId="444455556666"))
    unknown = synth_config(hub_config(), stack="team-a")
    assert synth_report.account_line(known) == "Account: 444455556666 (egress-net:accountId)"
    assert "unknown" in synth_report.account_line(unknown)
    assert unknown.account in synth_report.account_line(unknown)
    assert synth_report.to_json(known)["account"] == "444455556666"
    assert synth_report.to_json(unknown)["account"] is None


def test_a_provider_assuming_a_role_answers_as_the_role_account(tmp_path: Path) -> None:
    code = """
    import pulumi
    import pulumi_aws as aws
    other = aws.Provider(
        "other",
        region="us-east-1",
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=ROLE, session_name="egress-net")],
    )
    mine = aws.get_caller_identity()
    theirs = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=other))
    aws.ec2.Vpc("there", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(provider=other))
    pulumi.export("mine", mine.account_id)
    pulumi.export("theirs", theirs.account_id)
    """
    role = "arn:aws:iam::444455556666:role/egress-net-deploy"
    source = program_source(
        tmp_path, f"ROLE = {role!r}\n" + textwrap.dedent(code), accountId="111122223333"
    )
    rec, _, _ = engine.run_program(source)
    assert rec.outputs == {"mine": "111122223333", "theirs": "444455556666"}
    (vpc,) = rec.of_type("aws:ec2/vpc:Vpc")
    assert vpc.account == "444455556666" and vpc.outputs["ownerId"] == "444455556666"


def _hub_and_spoke_project(folder: Path, hub_extra: str) -> None:
    (folder / "__main__.py").write_text((REPO / "__main__.py").read_text())
    (folder / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (folder / "Pulumi.hub.yaml").write_text(
        textwrap.dedent(
            """
            config:
              aws:region: us-east-1
              egress-net:role: hub
              egress-net:accountId: "111122223333"
              egress-net:azIds: [use1-az1, use1-az2]
              egress-net:egressVpcCidr: 100.64.0.0/24
              egress-net:spokeSupernets: [10.0.0.0/8]
              egress-net:firewall: {mode: drop, protections: false}
            """
        )
        + hub_extra
    )
    (folder / "Pulumi.payments.yaml").write_text(
        textwrap.dedent(
            """
            config:
              aws:region: us-east-1
              egress-net:role: spoke
              egress-net:accountId: "444455556666"
              egress-net:hubStack: hub
              egress-net:spoke: {name: payments, cidr: 10.20.0.0/16}
            """
        )
    )


def test_a_spoke_account_the_hub_does_not_share_with_cannot_attach(tmp_path: Path) -> None:
    from egress_net.offline import OfflineCheckError

    _hub_and_spoke_project(tmp_path, "")
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(engine.load_source("payments", tmp_path))
    assert "not shared with account 444455556666" in str(caught.value)


def test_a_shared_tgw_that_does_not_accept_leaves_the_attachment_pending(tmp_path: Path) -> None:
    from egress_net.offline.sharing import cross_account_problems

    shared = '  egress-net:share: {principals: ["444455556666"]}\n'
    _hub_and_spoke_project(tmp_path, shared)
    # Pending is no failure of the deploy: the spoke routes nothing through the attachment
    # and says it waits for the hub.
    pending = engine.synth(engine.load_source("payments", tmp_path))
    assert pending.recording.outputs["spoke"]["status"] == "pending acceptance"
    spoke, hub = pending.recording, pending.referenced["hub"]
    (tgw,) = hub.of_type(TGW + "transitGateway:TransitGateway")
    assert not any(
        r.inputs.get("transitGatewayId") == tgw.id for r in spoke.of_type("aws:ec2/route:Route")
    )
    # A route to the TGW over the pending attachment is what AWS refuses.
    (table,) = spoke.of_type("aws:ec2/routeTable:RouteTable")[:1]
    route = replace(
        table,
        type="aws:ec2/route:Route",
        name="to-tgw",
        urn=table.urn + "-to-tgw",
        inputs={"routeTableId": table.id, "transitGatewayId": tgw.id},
    )
    routed = replace(spoke, resources=[*spoke.resources, route])
    (problem,) = cross_account_problems([routed, hub])
    assert "pendingAcceptance" in problem and "spokeStacks" in problem
    accepting = shared + "  egress-net:transitGateway: {autoAccept: true}\n"
    _hub_and_spoke_project(tmp_path, accepting)
    result = engine.synth(engine.load_source("payments", tmp_path))
    assert result.recording.account == "444455556666"
    assert result.referenced["hub"].account == "111122223333"


FIREWALL_IN = """
import pulumi_aws as aws
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
other = aws.ec2.Vpc("other", cidr_block="10.1.0.0/16")
PLACEMENT
a = aws.ec2.Subnet("a", vpc_id=vpc.id, cidr_block="10.0.0.0/28", availability_zone_id="use1-az1")
b = aws.ec2.Subnet(
    "b", vpc_id=SECOND_VPC.id, cidr_block=SECOND_CIDR, availability_zone_id=SECOND_AZ
)
aws.networkfirewall.Firewall(
    "fw", name="fw", firewall_policy_arn="arn:aws:network-firewall:us-east-1:444455556666:"
    "firewall-policy/p", vpc_id=vpc.id,
    subnet_mappings=[{"subnet_id": a.id}, {"subnet_id": b.id}],
)
"""


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        (
            "SECOND_VPC, SECOND_CIDR, SECOND_AZ = vpc, '10.0.0.16/28', 'use1-az1'",
            "both in use1-az1",
        ),
        ("SECOND_VPC, SECOND_CIDR, SECOND_AZ = other, '10.1.0.0/28', 'use1-az2'", "another VPC"),
    ],
)
def test_a_firewall_mapped_to_subnets_aws_refuses_fails_synth(
    tmp_path: Path, second: str, problem: str
) -> None:
    # CreateFirewall SubnetMappings: "Each subnet must belong to a different Availability Zone
    # in the VPC". The engine used to answer one sync state per mapping, READY.
    with pytest.raises(AwsWouldRefuse) as caught:
        engine.synth(program_source(tmp_path, FIREWALL_IN.replace("PLACEMENT", second)))
    assert "Firewall fw: AWS would refuse this firewall" in str(caught.value)
    assert problem in str(caught.value)


def test_a_firewall_with_one_subnet_per_az_of_its_vpc_passes(tmp_path: Path) -> None:
    second = "SECOND_VPC, SECOND_CIDR, SECOND_AZ = vpc, '10.0.0.16/28', 'use1-az2'"
    engine.synth(program_source(tmp_path, FIREWALL_IN.replace("PLACEMENT", second)))
