"""The preview pass: each stack runs as `pulumi preview` would and declares the same resources."""

from __future__ import annotations

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
