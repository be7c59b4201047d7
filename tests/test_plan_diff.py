"""`synth --against`: what `pulumi up` would replace or update after the previous synthesis,
and which firewall protection makes AWS refuse it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from egress_net import plan_diff
from egress_net.cli import main
from egress_net.recording import Recording

from .conftest import hub_config, synth_config

CA = "arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
TLS = {"certificateAuthorityArn": CA}
ALL_ON = {"protections": True}


def hub_with(firewall: dict[str, Any], **overrides: Any) -> Recording:
    return synth_config(hub_config(firewall=firewall, **overrides))


def actions(preview: plan_diff.UpPreview) -> dict[str, str]:
    return {c.resource: c.action for c in preview.changes}


def test_the_same_synthesis_changes_nothing() -> None:
    rec = hub_with(ALL_ON)
    preview = plan_diff.compare(rec, hub_with(ALL_ON))
    assert preview.changes == [] and preview.ok


def test_tls_inspection_on_replaces_the_policy_and_policy_protection_refuses_it() -> None:
    preview = plan_diff.compare(hub_with(ALL_ON), hub_with({**ALL_ON, "tlsInspection": TLS}))
    changes = actions(preview)
    assert changes["FirewallPolicy hub-policy"] == "replace"
    assert changes["TlsInspectionConfiguration hub-tls-inspection"] == "create"
    assert changes["Firewall hub-firewall"] == "update"
    (blocked,) = preview.blocked
    assert blocked.resource == "Firewall hub-firewall"
    assert "AssociateFirewallPolicy" in blocked.problem
    assert blocked.protection == "egress-net:firewall.protections.policyChange"
    assert [s.split(" ", 1)[0] for s in blocked.steps] == ["set", "make", "set"]
    assert "back to true" in blocked.steps[2]


def test_tls_inspection_off_is_refused_the_same_way() -> None:
    preview = plan_diff.compare(hub_with({**ALL_ON, "tlsInspection": TLS}), hub_with(ALL_ON))
    assert actions(preview)["TlsInspectionConfiguration hub-tls-inspection"] == "delete"
    assert [b.protection for b in preview.blocked] == [
        "egress-net:firewall.protections.policyChange"
    ]


def test_turning_policy_protection_off_in_the_same_up_lets_it_through() -> None:
    """The provider switches the protection before it associates the new policy."""
    off = {"protections": {"delete": True, "subnetChange": True, "policyChange": False}}
    preview = plan_diff.compare(hub_with(ALL_ON), hub_with({**off, "tlsInspection": TLS}))
    assert actions(preview)["FirewallPolicy hub-policy"] == "replace"
    assert preview.ok


def test_a_new_az_changes_the_firewall_subnets_and_subnet_protection_refuses_it() -> None:
    before = hub_with(ALL_ON)
    after = hub_with(ALL_ON, azIds=["use1-az1", "use1-az2", "use1-az3"])
    preview = plan_diff.compare(before, after)
    assert actions(preview)["Subnet hub-firewall-use1-az3"] == "create"
    (blocked,) = preview.blocked
    assert "AssociateSubnets" in blocked.problem
    assert blocked.protection == "egress-net:firewall.protections.subnetChange"
    assert plan_diff.compare(before, hub_with({"protections": False}, azIds=["use1-az1",
        "use1-az2", "use1-az3"])).ok  # fmt: skip


def test_a_new_az_of_a_tgw_attached_firewall_is_refused_by_az_protection() -> None:
    before = hub_with(ALL_ON, model="tgw-attached")
    after = hub_with(ALL_ON, model="tgw-attached", azIds=["use1-az1", "use1-az2", "use1-az3"])
    (blocked,) = plan_diff.compare(before, after).blocked
    assert "AssociateAvailabilityZones" in blocked.problem
    assert blocked.protection == "egress-net:firewall.protections.subnetChange"


def test_a_new_egress_vpc_replaces_the_firewall_and_delete_protection_refuses_it() -> None:
    before = hub_with(ALL_ON)
    after = hub_with(ALL_ON, egressVpcCidr="100.64.1.0/24")
    preview = plan_diff.compare(before, after)
    changes = actions(preview)
    assert changes["Vpc hub-vpc"] == "replace"
    assert changes["Subnet hub-firewall-use1-az1"] == "replace"  # its VPC is replaced
    assert changes["Firewall hub-firewall"] == "replace"
    (blocked,) = preview.blocked
    assert "DeleteFirewall" in blocked.problem
    assert blocked.protection == "egress-net:firewall.protections.delete"
    assert "nothing else changed" in blocked.steps[0]
    # Delete protection counts as it was: switching it off in the same `up` is too late.
    off = {"protections": {"delete": False, "subnetChange": True, "policyChange": True}}
    assert not plan_diff.compare(before, hub_with(off, egressVpcCidr="100.64.1.0/24")).ok


def test_a_replaced_policy_keeping_its_explicit_name_cannot_be_deleted_while_in_use() -> None:
    def named(rec: Recording) -> Recording:
        return replace(
            rec,
            resources=[
                replace(r, inputs={**r.inputs, "name": "egress-net-test-policy"})
                if r.type.endswith("firewallPolicy:FirewallPolicy")
                else r
                for r in rec.resources
            ],
        )

    off = {"protections": {"delete": True, "subnetChange": True, "policyChange": False}}
    preview = plan_diff.compare(
        named(hub_with(off)), named(hub_with({**off, "tlsInspection": TLS}))
    )
    (blocked,) = preview.blocked
    assert blocked.resource == "FirewallPolicy hub-policy" and not blocked.protection
    assert "Firewall hub-firewall" in blocked.problem and "new name" in blocked.steps[0]


# ---------------------------------------------------------------------------------------------
# The command


def test_synth_saves_and_compares_exiting_1_when_a_protection_blocks(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "prod.json"
    assert main(["synth", "prod", "--project-dir", str(repo), "--save", str(saved)]) == 0
    capsys.readouterr()
    assert main(["synth", "prod", "--project-dir", str(repo), "--against", str(saved)]) == 0
    assert "no change" in capsys.readouterr().out
    # As if the deployed firewall had other subnets: prod keeps its protections on.
    document = json.loads(saved.read_text())
    for entry in document["resources"]:
        if entry["type"] == "aws:networkfirewall/firewall:Firewall":
            entry["inputs"]["subnetMappings"] = entry["inputs"]["subnetMappings"][:1]
    saved.write_text(json.dumps(document))
    assert main(["synth", "prod", "--project-dir", str(repo), "--against", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "update   Firewall hub-firewall: subnetMappings changed" in out
    assert "BLOCKED Firewall hub-firewall" in out
    assert "1. set egress-net:firewall.protections.subnetChange: false" in out


def test_synth_compares_with_json_output_too(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "dev", "--project-dir", str(repo), "--json"]) == 0
    saved = tmp_path / "dev.json"
    saved.write_text(capsys.readouterr().out)
    assert main(["synth", "dev", "--project-dir", str(repo), "--against", str(saved)]) == 0
    assert "no change" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"stack": "dev"}', "holds no synthesis"),
        ('{"stack": "prod", "resources": []}', "synthesis of stack prod, not dev"),
    ],
)
def test_synth_against_a_bad_file_names_the_option(
    repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    words: str,
) -> None:
    path = tmp_path / "previous.json"
    if content is not None:
        path.write_text(content)
    assert main(["synth", "dev", "--project-dir", str(repo), "--against", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --against:") and words in err


def test_synth_save_into_a_missing_folder_fails_before_synthesizing(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nowhere" / "dev.json"
    assert main(["synth", "dev", "--project-dir", str(repo), "--save", str(target)]) == 2
    assert "error: --save:" in capsys.readouterr().err


def test_synth_all_takes_no_save_or_against(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "x.json"
    assert main(["synth", "--all", "--project-dir", str(repo), "--save", str(saved)]) == 2
    assert "error: --all:" in capsys.readouterr().err and not saved.exists()
