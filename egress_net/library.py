"""The Python library: ``EgressHub`` and its spokes, declared from a Pulumi program of your own.

The arguments are the stack config's keys as typed fields. They are validated by the same
models and checks as a stack file (:func:`egress_net.config.validate`), when the component is
constructed and before any child is declared; errors name the argument
(``EgressHubArgs.spokes[1].cidr``). The resources are the program's: the component is built by
the functions the program uses (:mod:`egress_net.program`), so both give the same network.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from egress_net import config, program
from egress_net.components import hub as hub_component
from egress_net.components import spoke as spoke_component
from egress_net.components.spoke import DistributedSpoke
from egress_net.errors import ConfigError, ConfigErrors, EgressNetError

__all__ = ["ArgumentErrors", "DistributedSpoke", "EgressHub", "EgressHubArgs", "Spoke", "SpokeArgs"]

# The hub output naming the spoke-to-spoke intent (beside the contract's keys).
SPOKE_TO_SPOKE_OUTPUT = "spokeToSpoke"

DeploymentModel = Literal[
    "egress-only", "centralized-inspection", "distributed", "combined", "tgw-attached"
]


@dataclass(frozen=True, kw_only=True)
class SpokeArgs:
    """A workload VPC whose internet-bound traffic goes through the hub: an entry of
    ``EgressHubArgs.spokes``, or a :class:`Spoke` of its own attached to a hub of another stack
    (``hub_stack``)."""

    #: 1-32 lowercase letters, digits and '-'; part of every resource name of the spoke.
    #: Required in ``EgressHubArgs.spokes``; a ``Spoke`` takes its resource name.
    name: str | None = None
    #: The spoke VPC's IPv4 CIDR, inside ``spoke_supernets`` and apart from every other spoke.
    cidr: str
    #: AZ IDs of the spoke's subnets, a subset of the hub's; default: all of the hub's.
    az_ids: Sequence[str] | None = None
    #: Another account for the spoke VPC: its ID and a role there the deployment assumes.
    account_id: str | None = None
    role_arn: str | None = None
    #: Model ``combined`` only: ``distributed`` gives this spoke its own firewall and NAT.
    model: Literal["tgw", "distributed"] | None = None
    #: Domains only this spoke may reach (TLS SNI / HTTP host), on top of the hub's allowlist.
    allow_domains: Sequence[str] = ()
    #: Tags of the spoke's resources, on top of the hub's.
    tags: Mapping[str, str] = field(default_factory=dict)
    #: A ``Spoke`` of its own: the hub's stack (``org/project/stack``), whose stack-output
    #: contract gives the Transit Gateway, AZs and layout the spoke is checked against.
    hub_stack: str | None = None
    #: A ``Spoke`` of its own: the AWS region (default: the stack's ``aws:region``).
    region: str | None = None


@dataclass(frozen=True, kw_only=True)
class EgressHubArgs:
    """A hub: egress VPC, Network Firewall, NAT gateways, Transit Gateway, and its spokes.

    The defaults are the program's: deny by default (``firewall.mode`` drop), firewall
    protections on, logs kept 365 days, no automatic acceptance of attachments, the TGW shared
    with no one. Nested settings take the stack config's keys (camelCase or snake_case).
    """

    #: 1-6 AZ IDs (like ``use1-az1``, never AZ names): a firewall endpoint and NAT gateway each.
    az_ids: Sequence[str]
    #: The address space spokes may use (the firewall's HOME_NET), e.g. ``["10.0.0.0/8"]``.
    spoke_supernets: Sequence[str]
    #: CIDR of the egress VPC, outside the supernets (all models but ``distributed``).
    egress_vpc_cidr: str | None = None
    #: Spokes declared with the hub, attached to its Transit Gateway.
    spokes: Sequence[SpokeArgs | Mapping[str, Any]] = ()
    #: Deployment model (README "Deployment models") and firewall placement.
    model: DeploymentModel = "egress-only"
    placement: Literal["before-nat", "after-nat"] = "before-nat"
    #: Model ``centralized-inspection``: CIDR of the inspection VPC.
    inspection_vpc_cidr: str | None = None
    #: Traffic between spokes: through the firewall, or dropped by the TGW (default: design's).
    spoke_to_spoke: Literal["inspected", "blocked"] | None = None
    #: AZ slots of the subnet layout (room to add AZs later); default from ``len(az_ids)``.
    az_slots: int | None = None
    #: ``mode`` (drop | alert), ``protections``, ``tlsInspection``.
    firewall: Mapping[str, Any] | None = None
    #: The firewall rules: ``allowDomains``, ``suricataFiles``, ``emergingThreats``, ...
    rules: Mapping[str, Any] | None = None
    #: ``principals``: accounts, OU or organization ARNs the TGW is shared with (RAM).
    share: Mapping[str, Any] | None = None
    #: ``autoAccept``, ``amazonSideAsn``, ``routeTables``, ``ownerRoleArn``.
    transit_gateway: Mapping[str, Any] | None = None
    #: ``retentionDays``, ``destination``, ``kmsKeyArn``, ``bucketName``, ``retainOnDelete``.
    logs: Mapping[str, Any] | None = None
    #: Tags of every resource.
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The AWS region (AZ IDs are checked against it); default: the stack's ``aws:region``.
    region: str | None = None


class ArgumentErrors(ConfigErrors):
    """Bad component arguments; each error names the argument, e.g. ``EgressHubArgs.az_ids``."""


def _plain(value: Any) -> Any:
    """Arguments as the config models read them. Only the arguments' own names are turned into
    the config's camelCase: nested mappings are passed as given (the models take snake_case or
    camelCase field names) so that tag keys and rule variable names stay exactly as written."""
    if isinstance(value, SpokeArgs):
        return {
            to_camel(f): _plain(getattr(value, f))
            for f in value.__dataclass_fields__
            if getattr(value, f) is not None
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def raw_hub_config(args: EgressHubArgs, region: str | None) -> dict[str, Any]:
    """The stack config (keys without namespace) the arguments stand for."""
    raw: dict[str, Any] = {"role": "hub"}
    for name in args.__dataclass_fields__:
        value = getattr(args, name)
        if name == "region":
            continue
        if value is not None:
            raw[to_camel(name)] = _plain(value)
    if region is not None:
        raw["region"] = region
    return raw


@functools.cache
def _python_names() -> dict[str, str]:
    """Every config field's camelCase key → its Python name, across the config models."""
    names: dict[str, str] = {}
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [config.StackConfig]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field_info in model.model_fields.items():
            names[field_info.alias or name] = name
            todo.extend(_models_in(field_info.annotation))
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def argument_key(config_key: str, owner: str, style: Literal["snake", "camel"]) -> str:
    """``egress-net:spokes[1].allowDomains`` → ``EgressHubArgs.spokes[1].allow_domains``."""
    if config_key == "aws:region":
        return f"{owner}.region"
    path = config_key.removeprefix(f"{config.NAMESPACE}:")
    if path == config.NAMESPACE or path == config_key:
        return owner
    if style == "snake":
        names = _python_names()
        path = _WORD.sub(lambda m: names.get(m.group(0), m.group(0)), path)
    return f"{owner}.{path}"


def validated(
    args: EgressHubArgs,
    owner: str = "EgressHubArgs",
    style: Literal["snake", "camel"] = "snake",
    opts: pulumi.ResourceOptions | None = None,
) -> config.StackConfig:
    """The hub config of the arguments, checked like a stack file; errors keyed by argument."""
    region = _region(args.region, owner, opts)
    try:
        return config.validate(raw_hub_config(args, region))
    except ConfigErrors as err:
        raise keyed(err, owner, style) from None


def _region(given: str | None, owner: str, opts: pulumi.ResourceOptions | None = None) -> str:
    stack_region = pulumi.Config("aws").get("region")
    region = given or stack_region
    if given and stack_region and given != stack_region and not _gives_aws_provider(opts):
        # Without a provider of its own the component's resources are created by the default
        # provider, in the stack's aws:region: AZ IDs checked against `given` would reach EC2
        # in another region, which refuses them (CreateSubnet: InvalidParameterValue).
        raise ArgumentErrors(
            [
                ConfigError(
                    f"{owner}.region",
                    f"{given} differs from the stack's aws:region {stack_region}, where the "
                    "default AWS provider would create the resources",
                    "give the component an AWS provider of that region "
                    "(opts=pulumi.ResourceOptions(providers=[aws.Provider(..., region=...)])), "
                    "or leave region unset",
                )
            ]
        )
    if region is None:
        raise ArgumentErrors(
            [
                ConfigError(
                    f"{owner}.region",
                    "required: no region given and the stack sets no aws:region",
                    "set aws:region in the stack's config, or give region",
                )
            ]
        )
    return region


def _gives_aws_provider(opts: pulumi.ResourceOptions | None) -> bool:
    """Whether the options give the component an AWS provider (its own, or its parent's)."""
    if opts is None:
        return False
    if opts.provider is not None:
        return True
    providers = opts.providers
    if isinstance(providers, Mapping):
        if "aws" in providers:
            return True
    elif providers and any(getattr(p, "package", None) == "aws" for p in providers):
        return True
    # Children inherit their parent's providers (the SDK keeps them in ``_providers``).
    return "aws" in getattr(opts.parent, "_providers", {})


def keyed(
    err: ConfigErrors, owner: str, style: Literal["snake", "camel"], strip: str = ""
) -> ArgumentErrors:
    """Config errors renamed after the arguments; ``strip``: a config prefix the arguments
    do not have (a spoke stack's ``spoke.``)."""
    return ArgumentErrors(
        [
            ConfigError(
                argument_key(e.where.replace(strip, f"{config.NAMESPACE}:", 1), owner, style)
                if strip
                else argument_key(e.where, owner, style),
                e.problem,
                _hint(e.hint, owner),
            )
            for e in err.errors
        ]
    )


def validated_spoke(
    name: str,
    args: SpokeArgs,
    owner: str = "SpokeArgs",
    style: Literal["snake", "camel"] = "snake",
    opts: pulumi.ResourceOptions | None = None,
) -> config.StackConfig:
    """The spoke-stack config of a ``Spoke``'s arguments, checked like a stack file."""
    region = _region(args.region, owner, opts)
    entry = _plain(replace(args, name=args.name or name, hub_stack=None, region=None))
    raw = {"role": "spoke", "region": region, "hubStack": args.hub_stack, "spoke": entry}
    if args.hub_stack is None:
        raw.pop("hubStack")
    try:
        return config.validate(raw)
    except ConfigErrors as err:
        raise keyed(err, owner, style, strip=f"{config.NAMESPACE}:spoke.") from None


def _hint(hint: str, owner: str) -> str:
    # The config checks speak of stack files; arguments are given in code.
    if "Pulumi.<stack>.yaml" in hint:
        return f"give it in {owner}"
    return hint


# The hub already declared in each running program, keyed by its root stack resource; in a
# component provider, which has no root resource, by the stack it constructs for (a provider
# process serves one deployment).
_HUB_OF_STACK: weakref.WeakKeyDictionary[pulumi.Resource, str] = weakref.WeakKeyDictionary()
_HUB_OF_CONSTRUCTED_STACK: dict[tuple[str, str, str], str] = {}


def check_one_hub_per_stack(name: str) -> None:
    """A second hub would claim the first one's rule group names, which carry the project and
    stack but not the hub: CreateRuleGroup fails with InvalidRequestException for a name in
    use in the account and region (see the network-firewall rule in ``naming.NAME_RULES``)."""
    root = pulumi_settings.get_root_resource()
    if root is not None:
        first = _HUB_OF_STACK.setdefault(root, name)
    else:
        stack = (pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack())
        first = _HUB_OF_CONSTRUCTED_STACK.setdefault(stack, name)
    if first != name:
        raise ArgumentErrors(
            [
                ConfigError(
                    f"EgressHub({name!r})",
                    f"this stack already declares EgressHub({first!r}); a stack holds one hub",
                    "put the spokes of both into one hub's spokes, or the second hub in "
                    "another stack",
                )
            ]
        )


# The spokes already declared in each running program, by their name (``SpokeArgs.name``, or
# the resource name when unset) → the resource name of the ``Spoke`` that took it; keyed like
# the hubs above.
_SPOKES_OF_STACK: weakref.WeakKeyDictionary[pulumi.Resource, dict[str, str]] = (
    weakref.WeakKeyDictionary()
)
_SPOKES_OF_CONSTRUCTED_STACK: dict[tuple[str, str, str], dict[str, str]] = {}


def check_one_spoke_per_name(resource_name: str, spoke_name: str) -> None:
    """Refuse a second ``Spoke`` with a spoke name already taken in this stack, before it
    declares anything. The spoke's name names what it declares beside its component (the AWS
    provider of its account, ``<name>-account``: Pulumi refuses the second one's duplicate URN
    halfway through the program) and is the spoke's identity in the stack outputs the hub
    reads (two spokes would pass as one)."""
    root = pulumi_settings.get_root_resource()
    if root is not None:
        declared = _SPOKES_OF_STACK.setdefault(root, {})
    else:
        stack = (pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack())
        declared = _SPOKES_OF_CONSTRUCTED_STACK.setdefault(stack, {})
    first = declared.setdefault(spoke_name, resource_name)
    if first != resource_name:
        raise ArgumentErrors(
            [
                ConfigError(
                    "SpokeArgs.name",
                    f"Spoke({resource_name!r}) and Spoke({first!r}) both use the spoke name "
                    f"{spoke_name!r}; a spoke's name identifies it (its account's provider, "
                    "the outputs the hub reads), so it must be unique in a stack",
                    "give each Spoke its own SpokeArgs.name (or leave it unset: the resource "
                    "name is used)",
                )
            ]
        )


# The hub's name starts the names of its resources, log groups and rule groups, as a spoke's
# name does (Network Firewall names: [a-zA-Z0-9-]; see naming.NAME_RULES).
_HUB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")


def check_names(name: str, cfg: config.StackConfig) -> None:
    """The hub's name fits in resource names, and no spoke's resource names can be the hub's
    (the program reserves ``hub`` for its hub; a library hub reserves its own name)."""
    errors: list[ConfigError] = []
    if not _HUB_NAME.match(name):
        errors.append(
            ConfigError(
                f"EgressHub({name!r})",
                "is not a valid hub name: it starts the names of the hub's resources",
                "use 1-32 lowercase letters, digits and '-', starting with a letter",
            )
        )
    for i, spoke in enumerate(cfg.spokes):
        if spoke.name == name or spoke.name.startswith(f"{name}-"):
            errors.append(
                ConfigError(
                    f"EgressHubArgs.spokes[{i}].name",
                    f"{spoke.name!r} would share resource names with the hub {name!r}",
                    f"name the spoke without the prefix {name}-, or the hub otherwise",
                )
            )
    if errors:
        raise ArgumentErrors(errors)


class EgressHub(hub_component.EgressHub):
    """The hub of centralized egress filtering and the spokes listed in its arguments.

    ``outputs`` holds the hub stack-output contract of the README (``transitGatewayId``,
    ``firewallPolicyArn``, ``spokes`` …): export it and spoke stacks of the egress-net program
    can reference this stack as their ``hubStack``.
    """

    # How errors name the arguments: Python names here, the schema's in the component provider.
    _argument_style: Literal["snake", "camel"] = "snake"

    def __init__(
        self, name: str, args: EgressHubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # What the Emerging Threats groups declared beside the hub share with it: its parent
        # and providers (a hub given another region's provider must find its groups there:
        # a policy references rule groups of its own region only).
        beside = pulumi.ResourceOptions(
            parent=opts.parent if opts else None,
            provider=opts.provider if opts else None,
            providers=opts.providers if opts else None,
        )
        try:
            check_one_hub_per_stack(name)
            # Before anything is declared.
            cfg = validated(args, style=self._argument_style, opts=opts)
            check_names(name, cfg)
            tags = program.stack_tags(cfg)
            try:
                # The policy's Emerging Threats groups are declared first, beside the hub.
                spec, et_groups = program.hub_policy(cfg, tags, name, beside)
            except ArgumentErrors:
                raise
            except ConfigErrors as err:
                raise keyed(err, "EgressHubArgs", self._argument_style) from None
        except EgressNetError as err:
            raise program.ProgramError(err) from err
        self._children_pending = True
        super().__init__(name, program.hub_component_args(cfg, tags, spec), opts)
        et_sync = program.emerging_threats_sync(cfg, self, et_groups, tags, name)
        self.spokes: dict[str, spoke_component.Spoke | DistributedSpoke]
        dns = program.dns_firewall(cfg, self, tags, f"{name}-dns")
        self.spokes = program.declare_hub_spokes(cfg, self, tags, parent=self, dns=dns)
        self.outputs: dict[str, Any] = program.hub_outputs(cfg, self, et_sync, self.spokes, dns=dns)
        # What the design promises between spokes: `verify` reads it from a library program's
        # outputs, as it reads a stack file's config for the program.
        self.outputs[SPOKE_TO_SPOKE_OUTPUT] = cfg.spoke_to_spoke_intent
        self._children_pending = False
        self.register_outputs(self.outputs)

    def register_outputs(self, outputs: Mapping[str, Any]) -> None:
        # The base component registers its outputs as its constructor ends; this one declares
        # its spokes after that, so it registers once, last, with the whole contract.
        if not getattr(self, "_children_pending", False):
            super().register_outputs(outputs)


class Spoke(spoke_component.Spoke):
    """A spoke VPC attached to the Transit Gateway of a hub declared by another stack.

    The hub's stack-output contract (read through a stack reference) gives the Transit Gateway,
    AZ IDs and subnet layout; the spoke is checked against it before it declares anything.
    ``outputs`` is the spoke stack-output contract of the README.
    """

    _argument_style: Literal["snake", "camel"] = "snake"

    def __init__(
        self, name: str, args: SpokeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        style = self._argument_style
        try:
            cfg = validated_spoke(name, args, style=style, opts=opts)
            assert cfg.spoke is not None and cfg.hub_stack is not None
            check_one_spoke_per_name(name, cfg.spoke.name)
        except ArgumentErrors as err:
            raise program.ProgramError(err) from err
        beside = pulumi.ResourceOptions(parent=opts.parent if opts else None)
        hub_ref = pulumi.StackReference(f"{name}-hub", stack_name=cfg.hub_stack, opts=beside)
        try:
            hub_view, contract = program.checked_hub_view(cfg, program.read_stack_outputs(hub_ref))
        except ConfigErrors as err:
            keyed_err = keyed(err, "SpokeArgs", style, strip=f"{config.NAMESPACE}:spoke.")
            raise program.ProgramError(keyed_err) from err
        spoke_args, spoke_opts = program.spoke_component_args(
            hub_view,
            cfg.spoke,
            contract["transitGatewayId"],
            program.stack_tags(cfg),
            None,
            parent=beside.parent,
        )
        super().__init__(name, spoke_args, pulumi.ResourceOptions.merge(opts, spoke_opts))
        self.outputs: dict[str, Any] = program.spoke_stack_outputs(hub_view, self)
