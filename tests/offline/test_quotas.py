"""AWS's default quotas per account and Region: notes before `up`, per stack and together."""

from __future__ import annotations

from pathlib import Path

import pytest

from egress_net import engine
from egress_net.offline import quotas

from .conftest import program_source

VPCS = """
import pulumi_aws as aws
for i in range(COUNT):
    aws.ec2.Vpc(f"vpc-{i}", cidr_block=f"10.{i}.0.0/16")
"""


def test_a_stack_needing_more_vpcs_than_the_default_quota_says_so(tmp_path: Path) -> None:
    source = program_source(tmp_path, "COUNT = 6\n" + VPCS, accountId="444455556666")
    (note,) = [w for w in engine.synth(source).warnings if "default quota" in w]
    assert note.startswith("6 VPCs in account 444455556666, us-east-1: AWS's default quota is 5")
    assert '[Amazon VPC quotas, "VPCs per Region"]' in note


def test_a_stack_within_the_default_quotas_has_no_note(tmp_path: Path) -> None:
    source = program_source(tmp_path, "COUNT = 5\n" + VPCS)
    assert [w for w in engine.synth(source).warnings if "default quota" in w] == []


@pytest.fixture
def tmp_dirs(tmp_path: Path) -> Path:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    return tmp_path


def test_stacks_sharing_one_account_and_region_add_up(tmp_dirs: Path) -> None:
    first = engine.synth(program_source(tmp_dirs / "a", "COUNT = 3\n" + VPCS, stack="a"))
    second = engine.synth(
        program_source(tmp_dirs / "b", "COUNT = 3\n" + VPCS, region="eu-west-1", stack="b")
    )
    recordings = [first.recording, second.recording]
    assert quotas.over_default(recordings) == []  # where each deploys: 3 and 3
    (note,) = quotas.over_default(recordings, shared=True)
    assert note.startswith("6 VPCs: AWS's default quota is 5")
