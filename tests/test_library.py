"""The Python library: a program of its own declares the hub and spokes, offline like ours."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import egress_net
from egress_net import cli, config, engine
from egress_net.errors import ConfigErrors
from egress_net.graph.checks import run_checks
from egress_net.graph.from_recording import graph_from_recordings
from egress_net.recording import Recording

from .conftest import REPO, hub_config, synth_config

EXAMPLE = REPO / "examples" / "library"


def _library_program(tmp_path: Path, body: str, project: str = "platform-net") -> Path:
    (tmp_path / "Pulumi.yaml").write_text(f"name: {project}\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "from egress_net import EgressHub, EgressHubArgs, SpokeArgs\n" + textwrap.dedent(body)
    )
    return tmp_path


def _synth(folder: Path, values: dict[str, Any] | None = None, stack: str = "dev") -> Recording:
    values = {"aws:region": "us-east-1"} if values is None else values
    source = engine.StackSource(folder, stack, values, engine.project_name(folder))
    return engine.synth(source).recording


def _library_error(folder: Path, values: dict[str, Any] | None = None) -> ConfigErrors:
    with pytest.raises(ConfigErrors) as caught:
        _synth(folder, values)
    err = caught.value
    assert isinstance(err, egress_net.ArgumentErrors)
    # Raised in the constructor, before anything is declared: not even the component.
    assert [r.type for r in err.registered if not r.type.startswith("pulumi:")] == []
    return err


def test_the_public_api_is_what_init_exports() -> None:
    for name in egress_net.__all__:
        assert getattr(egress_net, name) is not None
    assert egress_net.EgressHub.__module__ == "egress_net.library"


def test_the_example_program_synthesizes_as_its_own_project() -> None:
    recording = engine.synth_stack("dev", EXAMPLE)
    assert recording.project == "egress-library-example"
    hubs = recording.of_type("egress-net:index:EgressHub")
    assert [h.name for h in hubs] == ["egress"]
    spokes = recording.of_type("egress-net:index:Spoke")
    assert sorted(s.name for s in spokes) == ["billing", "orders"]
    # The spokes are the hub's children: one component a platform team declares.
    assert {s.parent for s in spokes} == {hubs[0].urn}
    assert set(recording.outputs["spokes"]) == {"orders", "billing"}
    assert recording.outputs["contractVersion"] == config.CONTRACT_VERSION


def test_the_example_program_verifies_offline(capsys: pytest.CaptureFixture[str]) -> None:
    recording = engine.synth_stack("dev", EXAMPLE)
    report = run_checks(graph_from_recordings([recording]))
    assert report.ok
    assert cli.main(["verify", "dev", "--project-dir", str(EXAMPLE)]) == 0
    assert "all checks pass" in capsys.readouterr().out


def test_the_library_declares_what_the_program_declares_for_the_same_config(
    tmp_path: Path,
) -> None:
    """Same project, same stack, same settings: the same resources with the same inputs (the
    library nests the spokes under its hub; the program keeps them at the stack's root)."""
    rules = {
        "allowDomains": {"domains": [".example.com"]},
        "emergingThreats": {"enabled": True, "schedule": "rate(6 hours)"},
    }
    program = synth_config(hub_config(rules=rules))
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1", "use1-az2"],
            egress_vpc_cidr="100.64.0.0/24",
            spoke_supernets=["10.0.0.0/8"],
            spokes=[
                SpokeArgs(name="app", cidr="10.1.0.0/16"),
                {"name": "data", "cidr": "10.2.0.0/16"},
            ],
            rules={
                "allow_domains": {"domains": [".example.com"]},
                "emerging_threats": {"enabled": True, "schedule": "rate(6 hours)"},
            },
        ))
        """,
        project="egress-net",
    )
    library = _synth(folder, {"aws:region": "us-east-1"}, stack="test")

    assert declared(library) == declared(program)
    assert len(declared(library)) > 50
    assert library.of_type("egress-net:index:EmergingThreatsSync")


def declared(rec: Recording) -> dict[tuple[str, str], Any]:
    """Each resource's inputs, with the IDs of other resources replaced by their names (the
    offline engine derives an ID from the URN, which holds the parent)."""
    ids = {r.id: f"<{r.type}:{r.name}>" for r in rec if r.id and len(r.id) > 8}
    # Longest first: an ID inside another (a name inside an ARN) must not be replaced first,
    # whatever order the resources registered in.
    ids = dict(sorted(ids.items(), key=lambda item: -len(item[0])))

    def named(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: named(v) for k, v in value.items()}
        if isinstance(value, list):
            return [named(v) for v in value]
        if isinstance(value, str):
            for rid, name in ids.items():
                value = value.replace(rid, name)
        return value

    return {(r.type, r.name): named(r.inputs) for r in rec if not r.type.startswith("pulumi:")}


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        (
            'spokes=[SpokeArgs(name="app", cidr="10.1.0.0/16"), '
            'SpokeArgs(name="data", cidr="10.2.0.1/16")]',
            "EgressHubArgs.spokes[1].cidr",
            "host bits set",
        ),
        (
            'spokes=[SpokeArgs(name="app", cidr="10.1.0.0/16"), '
            'SpokeArgs(name="data", cidr="10.1.128.0/17")]',
            "EgressHubArgs.spokes[1].cidr",
            "overlaps",
        ),
        (
            'firewall={"mode": "block"}',
            "EgressHubArgs.firewall.mode",
            "",
        ),
        (
            'logs={"retentionDays": 12}',
            "EgressHubArgs.logs.retention_days",
            "not a CloudWatch Logs retention",
        ),
        (
            'rules={"allowDomains": {"domains": [".amazonaws.com"]}}',
            "EgressHubArgs.rules.allow_domains.domains[0]",
            "shared suffix",
        ),
        (
            'rules={"allowDomain": {"domains": ["example.com"]}}',
            "EgressHubArgs.rules.allowDomain",
            "unknown key",
        ),
    ],
)
def test_bad_arguments_are_keyed_by_argument_and_nothing_is_declared(
    tmp_path: Path, body: str, key: str, problem: str
) -> None:
    folder = _library_program(
        tmp_path,
        f"""
        EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1", "use1-az2"],
            egress_vpc_cidr="100.64.0.0/24",
            spoke_supernets=["10.0.0.0/8"],
            {body},
        ))
        """,
    )
    err = _library_error(folder)
    assert key in [e.where for e in err.errors], err
    assert any(problem in e.problem for e in err.errors if e.where == key), err
    assert "Pulumi.<stack>.yaml" not in str(err)


def test_az_ids_are_checked_against_the_region(tmp_path: Path) -> None:
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["euw1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
        ))
        """,
    )
    err = _library_error(folder)
    assert err.errors[0].where.startswith("EgressHubArgs.az_ids[0]")


def test_a_missing_region_names_the_argument(tmp_path: Path) -> None:
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
        ))
        """,
    )
    err = _library_error(folder, {})
    assert [e.where for e in err.errors] == ["EgressHubArgs.region"]


def test_secure_defaults_are_the_programs(tmp_path: Path) -> None:
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
        ))
        """,
    )
    recording = _synth(folder)
    (firewall,) = recording.of_type("aws:networkfirewall/firewall:Firewall")
    assert firewall.inputs["deleteProtection"] is True
    (policy,) = recording.of_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    actions = policy.inputs["firewallPolicy"]["statefulDefaultActions"]
    assert "aws:drop_established" in actions
    (tgw,) = recording.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    assert tgw.inputs["autoAcceptSharedAttachments"] == "disable"
    assert recording.of_type("aws:ram/resourceShare:ResourceShare") == []


def test_a_second_hub_in_one_stack_is_refused_before_it_declares_anything(
    tmp_path: Path,
) -> None:
    folder = _library_program(
        tmp_path,
        """
        for name, cidr in (("a", "100.64.0.0/24"), ("b", "100.64.1.0/24")):
            EgressHub(name, EgressHubArgs(
                az_ids=["use1-az1"], egress_vpc_cidr=cidr, spoke_supernets=["10.0.0.0/8"],
            ))
        """,
    )
    with pytest.raises(egress_net.ArgumentErrors) as caught:
        _synth(folder)
    assert caught.value.where == "EgressHub('b')"
    assert "already declares EgressHub('a')" in caught.value.problem
    # The first hub is complete; nothing of the second one was declared.
    hubs = [r for r in caught.value.registered if r.type == "egress-net:index:EgressHub"]
    assert [h.name for h in hubs] == ["a"]


def test_tag_keys_and_rule_variable_names_are_kept_as_written(tmp_path: Path) -> None:
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
            spokes=[SpokeArgs(name="app", cidr="10.1.0.0/16", tags={"cost_center": "a1"})],
            tags={"data_class": "internal"},
        ))
        """,
    )
    recording = _synth(folder)
    spoke_vpcs = [
        r for r in recording.of_type("aws:ec2/vpc:Vpc") if r.inputs["tags"].get("Name") == "app-vpc"
    ]
    assert spoke_vpcs, [r.inputs["tags"] for r in recording.of_type("aws:ec2/vpc:Vpc")]
    assert spoke_vpcs[0].inputs["tags"]["cost_center"] == "a1"
    assert spoke_vpcs[0].inputs["tags"]["data_class"] == "internal"


@pytest.mark.parametrize(
    ("hub", "spoke", "key"),
    [
        ("Egress_Hub", "app", "EgressHub('Egress_Hub')"),
        ("egress", "egress", "EgressHubArgs.spokes[0].name"),
        ("egress", "egress-orders", "EgressHubArgs.spokes[0].name"),
    ],
)
def test_hub_and_spoke_names_cannot_clash_in_resource_names(
    tmp_path: Path, hub: str, spoke: str, key: str
) -> None:
    folder = _library_program(
        tmp_path,
        f"""
        EgressHub({hub!r}, EgressHubArgs(
            az_ids=["use1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
            spokes=[SpokeArgs(name={spoke!r}, cidr="10.1.0.0/16")],
        ))
        """,
    )
    err = _library_error(folder)
    assert [e.where for e in err.errors] == [key]


SPOKE_STACK_PROGRAM = """
import pulumi
from egress_net import EgressHub, EgressHubArgs, Spoke, SpokeArgs

if pulumi.get_stack() == "hub":
    component = EgressHub("hub", EgressHubArgs(
        az_ids=["use1-az1", "use1-az2"], egress_vpc_cidr="100.64.0.0/24",
        spoke_supernets=["10.0.0.0/8"],
    ))
else:
    component = Spoke("orders", SpokeArgs(SPOKE_ARGS))
for key, value in component.outputs.items():
    pulumi.export(key, value)
"""


def _two_stack_project(folder: Path, spoke_args: str) -> Path:
    _library_program(folder, "")
    (folder / "__main__.py").write_text(SPOKE_STACK_PROGRAM.replace("SPOKE_ARGS", spoke_args))
    for stack in ("hub", "orders"):
        (folder / f"Pulumi.{stack}.yaml").write_text("config:\n  aws:region: us-east-1\n")
    return folder


def test_a_spoke_of_its_own_attaches_to_a_hub_of_another_stack(tmp_path: Path) -> None:
    folder = _two_stack_project(
        tmp_path, 'cidr="10.30.0.0/16", hub_stack="acme/platform-net/hub", tags={"team": "o"}'
    )
    result = engine.synth(engine.load_source("orders", folder))
    spoke = result.recording
    (hub,) = result.referenced.values()
    (component,) = spoke.of_type("egress-net:index:Spoke")
    assert component.name == "orders"
    assert component.parent is None or "pulumi:pulumi:Stack" in component.parent
    (attachment,) = spoke.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    (tgw,) = hub.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    assert attachment.inputs["transitGatewayId"] == tgw.id
    assert spoke.outputs["spoke"]["name"] == "orders"
    assert spoke.outputs["spoke"]["azIds"] == ["use1-az1", "use1-az2"]
    assert run_checks(graph_from_recordings([spoke, hub])).ok


@pytest.mark.parametrize(
    ("spoke_args", "key", "problem"),
    [
        ('cidr="10.30.0.0/16"', "SpokeArgs.hub_stack", "required"),
        ('cidr="10.30.0.1/16", hub_stack="hub"', "SpokeArgs.cidr", "host bits"),
        # Checked against the hub's contract: outside its supernets.
        ('cidr="192.168.0.0/16", hub_stack="hub"', "SpokeArgs.cidr", "outside the spoke supernets"),
        ('cidr="10.30.0.0/16", hub_stack="hub", az_ids=["use1-az3"]', "SpokeArgs.az_ids", ""),
    ],
)
def test_a_spoke_of_its_own_is_checked_before_it_declares_anything(
    tmp_path: Path, spoke_args: str, key: str, problem: str
) -> None:
    folder = _two_stack_project(tmp_path, spoke_args)
    with pytest.raises(egress_net.ArgumentErrors) as caught:
        engine.synth(engine.load_source("orders", folder))
    err = caught.value
    assert any(e.where.startswith(key) and problem in e.problem for e in err.errors), err
    assert [r.type for r in err.registered if r.type.startswith("aws:")] == []


TWO_SPOKES_PROGRAM = """
import pulumi
from egress_net import EgressHub, EgressHubArgs, Spoke, SpokeArgs

if pulumi.get_stack() == "hub":
    component = EgressHub("hub", EgressHubArgs(
        az_ids=["use1-az1", "use1-az2"], egress_vpc_cidr="100.64.0.0/24",
        spoke_supernets=["10.0.0.0/8"],
    ))
    for key, value in component.outputs.items():
        pulumi.export(key, value)
else:
    hub = "acme/platform-net/hub"
    Spoke("orders", SpokeArgs(cidr="10.30.0.0/16", hub_stack=hub))
    Spoke("orders-eu", SpokeArgs(SECOND cidr="10.31.0.0/16", hub_stack=hub))
"""


def _two_spokes(folder: Path, second: str) -> Path:
    _two_stack_project(folder, "")
    (folder / "__main__.py").write_text(TWO_SPOKES_PROGRAM.replace("SECOND", second))
    return folder


def test_two_spokes_with_one_name_are_refused_before_the_second_declares_anything(
    tmp_path: Path,
) -> None:
    folder = _two_spokes(tmp_path, 'name="orders",')
    with pytest.raises(egress_net.ArgumentErrors) as caught:
        engine.synth(engine.load_source("orders", folder))
    err = caught.value
    assert err.where == "SpokeArgs.name"
    assert "Spoke('orders-eu') and Spoke('orders') both use the spoke name 'orders'" in (
        err.problem
    )
    # The first spoke is complete; nothing of the second one was declared, not even its
    # stack reference.
    assert [r.name for r in err.registered if r.type == "egress-net:index:Spoke"] == ["orders"]
    assert not [r.name for r in err.registered if r.name.startswith("orders-eu")]


def test_two_spokes_with_names_of_their_own_share_a_stack(tmp_path: Path) -> None:
    for second in ("", 'name="orders-eu",'):  # the resource name, or the same given
        spoke = engine.synth(engine.load_source("orders", _two_spokes(tmp_path, second)))
        spokes = spoke.recording.of_type("egress-net:index:Spoke")
        assert sorted(s.name for s in spokes) == ["orders", "orders-eu"]


def test_an_emerging_threats_quota_error_names_the_argument(tmp_path: Path) -> None:
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
            rules={"emergingThreats": {"enabled": True, "groups": 10, "groupCapacity": 3000}},
        ))
        """,
    )
    err = _library_error(folder)
    assert [e.where for e in err.errors] == ["EgressHubArgs.rules.emerging_threats.group_capacity"]


def test_verify_checks_a_library_hub_against_its_own_spoke_to_spoke_design(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the NAT gateway the design blocks spoke-to-spoke traffic (the firewall cannot see
    it there); verify reads that from the hub's outputs, a library program having no config."""
    folder = _library_program(
        tmp_path,
        """
        import pulumi
        hub = EgressHub("hub", EgressHubArgs(
            az_ids=["use1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
            placement="after-nat",
            spokes=[
                SpokeArgs(name="a", cidr="10.1.0.0/16"),
                SpokeArgs(name="b", cidr="10.2.0.0/16"),
            ],
        ))
        for key, value in hub.outputs.items():
            pulumi.export(key, value)
        """,
    )
    (folder / "Pulumi.dev.yaml").write_text("config:\n  aws:region: us-east-1\n")
    assert _synth(folder).outputs["spokeToSpoke"] == "blocked"
    assert cli.main(["verify", "dev", "--project-dir", str(folder)]) == 0
    assert "all checks pass" in capsys.readouterr().out
    # Claiming the opposite intent fails: the check is not vacuous.
    assert (
        cli.main(["verify", "dev", "--project-dir", str(folder), "--spoke-to-spoke", "inspected"])
        == 1
    )


def test_emerging_threats_groups_use_the_provider_given_to_the_hub(tmp_path: Path) -> None:
    """The ET groups are declared beside the hub, before it: they still take the providers the
    hub is given, or a hub deployed through another region's provider would reference rule
    groups of the default region (a policy references rule groups of its own region only)."""
    folder = _library_program(
        tmp_path,
        """
        import pulumi
        import pulumi_aws as aws
        eu = aws.Provider("eu", region="eu-west-1")
        EgressHub("hub", EgressHubArgs(
            az_ids=["euw1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
            region="eu-west-1",
            rules={"emergingThreats": {"enabled": True}},
        ), opts=pulumi.ResourceOptions(providers=[eu]))
        """,
    )
    recording = _synth(folder)
    groups = recording.of_type("aws:networkfirewall/ruleGroup:RuleGroup")
    et_groups = [g for g in groups if "-et-" in g.name]
    assert et_groups and len(et_groups) < len(groups)
    providers = {g.provider for g in groups}
    assert len(providers) == 1 and next(iter(providers)) is not None, providers


def test_install_instructions_never_name_the_package_on_an_index() -> None:
    """egress-net is not published on PyPI: an instruction or requirement naming it bare
    (``pip install egress-net``, ``egress-net>=0.1``) installs whatever someone registers
    under that name. Installs come from the repository (a path or a pinned git tag)."""
    import re

    bare = re.compile(r"(pip install |^)egress-net(\s*[<>=~!]=?[\d.,<>=]*)?\s*($|`)", re.M)
    sources = {
        "README.md": (REPO / "README.md").read_text(),
        "examples/library/requirements.txt": (EXAMPLE / "requirements.txt").read_text(),
        "provider/requirements.txt": (REPO / "provider" / "requirements.txt").read_text(),
    }
    uncommented = {
        name: "\n".join(
            line.split("#", 1)[0] if name.endswith(".txt") else line
            for line in text.splitlines()
        )
        for name, text in sources.items()
    }
    assert {n: bare.findall(t) for n, t in uncommented.items() if bare.search(t)} == {}
    # Comments, too, must not suggest a bare index install.
    for name, text in sources.items():
        assert "egress-net>=" not in text, name


def test_a_region_other_than_the_stacks_needs_a_provider_of_that_region(tmp_path: Path) -> None:
    """AZ IDs are checked against ``region``, but without a provider of its own the hub's
    resources are created by the default provider in the stack's aws:region, where EC2
    refuses those AZ IDs (CreateSubnet: InvalidParameterValue)."""
    folder = _library_program(
        tmp_path,
        """
        EgressHub("hub", EgressHubArgs(
            az_ids=["euw1-az1"], egress_vpc_cidr="100.64.0.0/24", spoke_supernets=["10.0.0.0/8"],
            region="eu-west-1",
        ))
        """,
    )
    err = _library_error(folder, {"aws:region": "us-east-1"})
    assert [e.where for e in err.errors] == ["EgressHubArgs.region"]
    assert "us-east-1" in err.errors[0].problem
    # The same region as the stack's needs no provider of its own.
    assert _synth(folder, {"aws:region": "eu-west-1"}).of_type("aws:ec2/subnet:Subnet")


def test_a_spoke_region_other_than_the_stacks_needs_a_provider(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: workload\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "from egress_net import Spoke, SpokeArgs\n"
        'Spoke("orders", SpokeArgs(cidr="10.30.0.0/16", hub_stack="acme/platform-net/prod",'
        ' region="eu-west-1"))\n'
    )
    err = _library_error(tmp_path, {"aws:region": "us-east-1"})
    assert [e.where for e in err.errors] == ["SpokeArgs.region"]
