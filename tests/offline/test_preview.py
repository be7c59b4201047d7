"""The preview pass: each stack runs as `pulumi preview` would and declares the same resources."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from egress_net import engine
from egress_net.offline import OfflineCheckError
from egress_net.offline.preview import preview_differences

from .conftest import REPO, program_source


def test_preview_knows_inputs_but_no_computed_output(tmp_path: Path) -> None:
    code = """
    import pulumi
    import pulumi_aws as aws
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    pulumi.export("cidr", vpc.cidr_block)
    pulumi.export("id", vpc.id)
    pulumi.export("arn", vpc.arn)
    """
    rec, _, _ = engine.run_program(program_source(tmp_path, code), preview=True)
    assert rec.preview
    (vpc,) = rec.of_type("aws:ec2/vpc:Vpc")
    assert vpc.id == "" and "arn" not in vpc.outputs
    assert rec.outputs == {"cidr": "10.0.0.0/16", "id": None, "arn": None}


def test_urns_name_the_stack_run_even_where_the_sdk_settings_do_not_reach() -> None:
    # The SDK calls the monitor from worker threads; SDKs before 3.260.0 do not carry their
    # ambient project and stack into them, so URNs built from those settings named the SDK's
    # placeholders on the first run of a process, and preview and up never matched.
    monitor = engine.OfflineMonitor(
        engine.OfflineMocks("us-east-1", "111111111111", lambda _name: None),
        "urn-project",
        "urn-stack",
    )
    parent = "urn:pulumi:urn-stack::urn-project::egress-net:index:EgressHub::hub"
    made: list[str] = []
    worker = threading.Thread(  # a fresh thread: none of the caller's context variables
        target=lambda: made.extend(
            [
                monitor.make_urn("", "pulumi:pulumi:Stack", "urn-project-urn-stack"),
                monitor.make_urn(parent, "aws:ec2/vpc:Vpc", "hub-vpc"),
            ]
        )
    )
    worker.start()
    worker.join()
    assert made == [
        "urn:pulumi:urn-stack::urn-project::pulumi:pulumi:Stack::urn-project-urn-stack",
        "urn:pulumi:urn-stack::urn-project::egress-net:index:EgressHub$aws:ec2/vpc:Vpc::hub-vpc",
    ]


def test_urns_carry_the_parent_type_chain_but_never_the_root_stack_type(tmp_path: Path) -> None:
    # The engine qualifies a child's type by its parent's whole type chain and never by the
    # root stack's type (pulumi/pulumi pkg/resource/deploy/deployment.go, generateURN;
    # sdk/go/common/resource/urn/urn.go, New). URNs are state keys: a different one in a
    # recording is a different resource to `pulumi up`.
    code = """
    import pulumi
    import pulumi_aws as aws
    a = pulumi.ComponentResource("pkg:index:A", "a")
    b = pulumi.ComponentResource("pkg:index:B", "b", opts=pulumi.ResourceOptions(parent=a))
    c = pulumi.ComponentResource("pkg:index:C", "c", opts=pulumi.ResourceOptions(parent=b))
    aws.ec2.Vpc("deep", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(parent=c))
    top = aws.Provider("top", region="us-east-1")
    aws.Provider("nested", region="us-east-1", opts=pulumi.ResourceOptions(parent=b))
    aws.ec2.Vpc("flat", cidr_block="10.1.0.0/16", opts=pulumi.ResourceOptions(provider=top))
    """
    rec, _, _ = engine.run_program(program_source(tmp_path, code, stack="urns"))
    urns = {r.name: r.urn for r in rec.resources}
    prefix = "urn:pulumi:urns::egress-net::"
    assert urns["a"] == f"{prefix}pkg:index:A::a"
    assert urns["b"] == f"{prefix}pkg:index:A$pkg:index:B::b"
    assert urns["c"] == f"{prefix}pkg:index:A$pkg:index:B$pkg:index:C::c"
    assert urns["deep"] == f"{prefix}pkg:index:A$pkg:index:B$pkg:index:C$aws:ec2/vpc:Vpc::deep"
    assert urns["top"] == f"{prefix}pulumi:providers:aws::top"
    assert urns["nested"] == f"{prefix}pkg:index:A$pkg:index:B$pulumi:providers:aws::nested"
    assert urns["flat"] == f"{prefix}aws:ec2/vpc:Vpc::flat"
    (flat,) = [r for r in rec.resources if r.name == "flat"]
    assert flat.parent == "urn:pulumi:urns::egress-net::pulumi:pulumi:Stack::egress-net-urns"
    assert flat.provider and flat.provider.startswith(urns["top"] + "::")


def test_a_resource_declared_only_once_an_output_is_known_fails_synth(tmp_path: Path) -> None:
    code = """
    import pulumi_aws as aws
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    vpc.id.apply(lambda vpc_id: aws.ec2.RouteTable("late", vpc_id=vpc_id))
    """
    with pytest.raises(OfflineCheckError) as caught:
        engine.synth(program_source(tmp_path, code))
    assert "aws:ec2/routeTable:RouteTable::late: declared by `pulumi up` only" in str(caught.value)
    # The same program without the preview pass synthesizes: the pass is what catches it.
    engine.synth(program_source(tmp_path, code), preview=False)


def test_the_repo_dev_stack_declares_the_same_resources_in_both_passes() -> None:
    source = engine.load_source("dev", REPO)
    up, _, _ = engine.run_program(source)
    preview, _, _ = engine.run_program(source, preview=True)
    assert preview_differences(preview, up) == []
    assert len(preview) == len(up) > 50
    assert all(r.id == "" for r in preview if r.custom and r.type.startswith("aws:"))
