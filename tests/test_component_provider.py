"""The package for every language: its schema, and components constructed from wire inputs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import egress_net
from egress_net import component_provider, engine
from egress_net.errors import ConfigErrors
from egress_net.recording import Recording

from .conftest import REPO
from .test_library import declared

GOLDEN = REPO / "provider" / "schema.json"

# What a TypeScript or YAML program sends for a hub with two spokes: schema (camelCase) names,
# numbers as JSON numbers (floats), enums as their strings.
WIRE_INPUTS: dict[str, Any] = {
    "azIds": ["use1-az1", "use1-az2"],
    "egressVpcCidr": "100.64.0.0/24",
    "spokeSupernets": ["10.0.0.0/8"],
    "spokes": [
        {"name": "app", "cidr": "10.1.0.0/16", "tags": {"team": "app"}},
        {"name": "data", "cidr": "10.2.0.0/16", "azIds": ["use1-az1"]},
    ],
    "azSlots": 4.0,
    "firewall": {"mode": "drop", "protections": {"delete": True}},
    "rules": {"allowDomains": {"domains": [".example.com"]}},
    "transitGateway": {"amazonSideAsn": 64513.0, "autoAccept": False},
    "logs": {"retentionDays": 90.0, "destination": "cloudwatch"},
    "tags": {"owner": "platform"},
}

LIBRARY_PROGRAM = """
from egress_net import EgressHub, EgressHubArgs, SpokeArgs

EgressHub("hub", EgressHubArgs(
    az_ids=["use1-az1", "use1-az2"],
    egress_vpc_cidr="100.64.0.0/24",
    spoke_supernets=["10.0.0.0/8"],
    spokes=[
        SpokeArgs(name="app", cidr="10.1.0.0/16", tags={"team": "app"}),
        SpokeArgs(name="data", cidr="10.2.0.0/16", az_ids=["use1-az1"]),
    ],
    az_slots=4,
    firewall={"mode": "drop", "protections": {"delete": True}},
    rules={"allowDomains": {"domains": [".example.com"]}},
    transit_gateway={"amazon_side_asn": 64513, "auto_accept": False},
    logs={"retention_days": 90, "destination": "cloudwatch"},
    tags={"owner": "platform"},
))
"""

# The engine's side of `construct`: the provider maps the wire names and numbers and builds
# the component, as it does behind `pulumi up` of a TypeScript or YAML program.
WIRE_PROGRAM = """
import json

import egress_net
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError
from egress_net.component_provider import COMPONENTS, PACKAGE

provider = ComponentProvider(COMPONENTS, PACKAGE, None, egress_net.__version__)
try:
    provider.construct("hub", "egress-net:index:EgressHub", INPUTS, None)
except ComponentInitError as err:
    raise err.inner from None
"""


def _project(folder: Path, program: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text("name: platform-net\nruntime: python\n")
    (folder / "__main__.py").write_text(textwrap.dedent(program))
    return folder


def _wire_project(folder: Path, inputs: Any) -> Path:
    return _project(folder, f"INPUTS = {inputs!r}\n" + WIRE_PROGRAM)


def _synth(folder: Path) -> Recording:
    source = engine.StackSource(folder, "dev", {"aws:region": "us-east-1"}, "platform-net")
    return engine.synth(source).recording


def test_the_package_schema_is_the_reviewed_golden_file() -> None:
    generated = component_provider.package_schema()
    golden = json.loads(GOLDEN.read_text())
    assert generated == golden, (
        "the package schema changed: review it like an API change (CHANGELOG), then "
        "python -m egress_net.component_provider > provider/schema.json"
    )


def test_the_schema_has_the_stable_type_token_and_the_package_version() -> None:
    schema = component_provider.package_schema()
    assert schema["name"] == "egress-net"
    assert schema["version"] == egress_net.__version__
    hub = schema["resources"]["egress-net:index:EgressHub"]
    assert hub["isComponent"] is True
    assert hub["requiredInputs"] == ["azIds", "spokeSupernets"]
    # Fields that decide which resources exist are plain: the SDKs refuse an Output there.
    inputs = hub["inputProperties"]
    assert all(prop.get("plain") is True for prop in inputs.values())
    model = schema["types"]["egress-net:index:DeploymentModel"]
    assert [e["value"] for e in model["enum"]] == [
        "egress-only",
        "centralized-inspection",
        "distributed",
        "combined",
        "tgw-attached",
    ]


def test_the_version_is_the_distributions() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert f'version = "{egress_net.__version__}"' in pyproject


def test_wire_inputs_build_the_same_resources_as_the_library(tmp_path: Path) -> None:
    wire = _synth(_wire_project(tmp_path / "wire", WIRE_INPUTS))
    library = _synth(_project(tmp_path / "library", LIBRARY_PROGRAM))
    assert declared(wire) == declared(library)
    (tgw,) = wire.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
    # A JSON number arrives as a float; the ASN is sent to AWS as the integer.
    assert tgw.inputs["amazonSideAsn"] == 64513
    groups = wire.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert groups and all(g.inputs["retentionInDays"] == 90 for g in groups)


def test_wire_errors_name_the_schema_property_and_nothing_is_declared(tmp_path: Path) -> None:
    bad = {**WIRE_INPUTS, "spokes": [{"name": "app", "cidr": "10.1.0.1/16"}]}
    with pytest.raises(ConfigErrors) as caught:
        _synth(_wire_project(tmp_path, bad))
    assert [e.where for e in caught.value.errors] == ["EgressHubArgs.spokes[0].cidr"]
    assert [r for r in caught.value.registered if not r.type.startswith("pulumi:")] == []


def test_a_wire_enum_outside_the_schema_is_refused(tmp_path: Path) -> None:
    bad = {**WIRE_INPUTS, "model": "hub-and-spoke"}
    with pytest.raises(Exception, match="hub-and-spoke"):
        _synth(_wire_project(tmp_path, bad))


def test_an_output_where_a_plain_value_decides_is_refused(tmp_path: Path) -> None:
    folder = _project(
        tmp_path,
        "import pulumi\n"
        f"INPUTS = {WIRE_INPUTS!r}\n"
        'INPUTS["azIds"] = [pulumi.Output.from_input("use1-az1"), "use1-az2"]\n' + WIRE_PROGRAM,
    )
    with pytest.raises(ConfigErrors) as caught:
        _synth(folder)
    assert caught.value.where == "EgressHubArgs.azIds[0]"
    assert "output of another resource" in caught.value.problem


def test_the_plugin_entry_point_hosts_the_components_under_the_package_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import runpy

    import pulumi.provider.experimental as experimental

    hosted: dict[str, Any] = {}

    def host(components: list[type], name: str, version: str | None = None) -> None:
        hosted.update(components=components, name=name, version=version)

    monkeypatch.setattr(experimental, "component_provider_host", host)
    runpy.run_path(str(REPO / "provider" / "__main__.py"), run_name="__main__")
    assert hosted == {
        "components": [component_provider.EgressHub, component_provider.Spoke],
        "name": "egress-net",
        "version": egress_net.__version__,
    }
    # The SDK names each component's type token after its class: the token stays stable.
    assert [c.__name__ for c in hosted["components"]] == ["EgressHub", "Spoke"]


def test_the_yaml_example_builds_a_verified_network_through_the_provider(tmp_path: Path) -> None:
    """The YAML runtime does not run here: its resource goes through the provider's construct
    with the properties it declares, under the offline engine, and the paths are checked."""
    import yaml

    from egress_net.graph.checks import run_checks
    from egress_net.graph.from_recording import graph_from_recordings

    project = yaml.safe_load((REPO / "examples" / "yaml" / "Pulumi.yaml").read_text())
    schema = json.loads(GOLDEN.read_text())
    (resource,) = project["resources"].values()
    declared_inputs = schema["resources"][resource["type"]]["inputProperties"]
    assert set(resource["properties"]) <= set(declared_inputs)
    for output in project["outputs"].values():
        name = output.removeprefix("${egress.").removesuffix("}")
        assert name in schema["resources"][resource["type"]]["properties"]

    folder = _wire_project(tmp_path, resource["properties"])
    source = engine.StackSource(folder, "dev", {"aws:region": "eu-west-1"}, project["name"])
    recording = engine.synth(source).recording
    assert len(recording.of_type("egress-net:index:Spoke")) == 2
    assert run_checks(graph_from_recordings([recording])).ok


SPOKE_STACKS_PROGRAM = """
import pulumi
import egress_net
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError
from egress_net import EgressHub, EgressHubArgs, Spoke, SpokeArgs
from egress_net.component_provider import COMPONENTS, PACKAGE

if pulumi.get_stack() == "hub":
    hub = EgressHub("hub", EgressHubArgs(
        az_ids=["use1-az1", "use1-az2"], egress_vpc_cidr="100.64.0.0/24",
        spoke_supernets=["10.0.0.0/8"],
    ))
    for key, value in hub.outputs.items():
        pulumi.export(key, value)
elif pulumi.get_stack() == "library":
    Spoke("orders", SpokeArgs(
        cidr="10.30.0.0/16", hub_stack="acme/platform-net/hub", az_ids=["use1-az2"],
        tags={"team": "orders"},
    ))
else:
    provider = ComponentProvider(COMPONENTS, PACKAGE, None, egress_net.__version__)
    try:
        provider.construct("orders", "egress-net:index:Spoke", INPUTS, None)
    except ComponentInitError as err:
        raise err.inner from None
"""


def _spoke_stacks(folder: Path, inputs: dict[str, Any]) -> Path:
    _project(folder, f"INPUTS = {inputs!r}\n" + SPOKE_STACKS_PROGRAM)
    for stack in ("hub", "library", "wire"):
        (folder / f"Pulumi.{stack}.yaml").write_text("config:\n  aws:region: us-east-1\n")
    return folder


def test_a_wire_spoke_builds_what_the_library_spoke_builds(tmp_path: Path) -> None:
    inputs = {
        "cidr": "10.30.0.0/16",
        "hubStack": "acme/platform-net/hub",
        "azIds": ["use1-az2"],
        "tags": {"team": "orders"},
    }
    folder = _spoke_stacks(tmp_path, inputs)
    wire = engine.synth(engine.load_source("wire", folder)).recording
    library = engine.synth(engine.load_source("library", folder)).recording

    def spoke_resources(rec: Recording) -> dict[tuple[str, str], Any]:
        # The stack's own tag differs (egress-net:stack is the stack name).
        found = declared(rec)
        for inputs in found.values():
            if isinstance(inputs, dict) and isinstance(inputs.get("tags"), dict):
                inputs["tags"].pop("egress-net:stack", None)
        return found

    assert spoke_resources(wire) == spoke_resources(library)
    assert len(wire.of_type("aws:ec2/subnet:Subnet")) == 2  # one AZ: workload and TGW subnets


def test_a_wire_spoke_names_its_arguments_in_errors(tmp_path: Path) -> None:
    folder = _spoke_stacks(tmp_path, {"cidr": "192.168.0.0/16", "hubStack": "hub"})
    with pytest.raises(ConfigErrors) as caught:
        engine.synth(engine.load_source("wire", folder))
    assert [e.where for e in caught.value.errors] == ["SpokeArgs.cidr"]
    assert [r for r in caught.value.registered if r.type.startswith("aws:")] == []


def test_component_type_tokens_are_stable() -> None:
    """A type token is part of every child's URN: renaming one replaces the whole stack."""
    from .conftest import hub_config, synth_config

    recording = synth_config(
        hub_config(
            model="combined",
            spokes=[
                {"name": "app", "cidr": "10.1.0.0/16", "model": "distributed"},
                {"name": "data", "cidr": "10.2.0.0/16"},
            ],
            rules={"emergingThreats": {"enabled": True}},
        )
    )
    components = {r.type for r in recording if not r.custom and r.type.startswith("egress-net:")}
    assert components == {
        "egress-net:index:EgressHub",
        "egress-net:index:Spoke",
        "egress-net:index:DistributedSpoke",
        "egress-net:index:EmergingThreatsSync",
        "egress-net:index:EmergingThreatsGroups",
        "egress-net:index:DnsFirewall",
    }
    schema = json.loads(GOLDEN.read_text())
    assert set(schema["resources"]) == {"egress-net:index:EgressHub", "egress-net:index:Spoke"}


def test_a_second_hub_constructed_by_the_provider_for_one_stack_is_refused(
    tmp_path: Path,
) -> None:
    """A provider process has no root stack resource: one hub per stack still holds."""
    program = WIRE_PROGRAM.replace(
        'provider.construct("hub", "egress-net:index:EgressHub", INPUTS, None)',
        "from pulumi.runtime import settings\n"
        "    settings.ROOT.set(None)  # as in a provider process\n"
        '    provider.construct("first", "egress-net:index:EgressHub", INPUTS, None)\n'
        '    provider.construct("second", "egress-net:index:EgressHub", INPUTS, None)',
    )
    folder = _project(tmp_path, f"INPUTS = {WIRE_INPUTS!r}\n" + program)
    source = engine.StackSource(folder, "one-hub-per-stack", {"aws:region": "us-east-1"})
    with pytest.raises(ConfigErrors) as caught:
        engine.synth(source)
    assert caught.value.where == "EgressHub('second')"


def test_every_argument_in_the_schema_is_described() -> None:
    """The generated SDKs' doc comments and the YAML docs come from the schema: an argument
    without a description leaves a user of another language guessing (e.g. what
    acceptSpokeToSpokeBypass gives up)."""
    schema = component_provider.package_schema()
    undescribed = [
        f"{token}.{prop}"
        for token, resource in schema["resources"].items()
        for prop, spec in resource["inputProperties"].items()
        if not spec.get("description")
    ] + [
        f"{token}.{prop}"
        for token, typ in schema["types"].items()
        for prop, spec in typ.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert undescribed == []
