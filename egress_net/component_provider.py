"""The components as a Pulumi package for every language: the wire layer of the provider.

``pulumi package add`` runs the plugin in ``provider/`` (PulumiPlugin.yaml), which hosts the
classes below with ``component_provider_host``. The Python SDK infers the package schema from
their annotations (``pulumi/provider/experimental/analyzer.py``), hence the rules this module
follows and the library does not need to:

- no ``from __future__ import annotations``: the analyzer reads annotations as types, not
  strings;
- arguments are TypedDicts and enums (callables, protocols, ``Literal`` and unions cannot be
  described in a schema); nested TypedDicts become the package's object types;
- every field is plain (not ``Input``): the SDKs then refuse an Output there, because CIDRs, AZ
  IDs, the model and the mode decide which resources exist;
- integers arrive as floats (JSON numbers; the provider converts fields typed ``int``);
- the component receives one provider for the package: other accounts are given as role ARNs
  (``roleArn``, ``transitGateway.ownerRoleArn``) and their providers are created inside.

A wire call is converted into the library's :class:`egress_net.library.EgressHubArgs` and
built by the library's component: one path, one set of checks, errors keyed by the wire names
(``EgressHubArgs.spokes[1].cidr``).
"""

import enum
import json
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi

from egress_net import library, program
from egress_net.errors import ConfigError

PACKAGE = "egress-net"


class DeploymentModel(enum.StrEnum):
    """How traffic reaches the firewall (README, Deployment models)."""

    EGRESS_ONLY = "egress-only"
    CENTRALIZED_INSPECTION = "centralized-inspection"
    DISTRIBUTED = "distributed"
    COMBINED = "combined"
    TGW_ATTACHED = "tgw-attached"


class Placement(enum.StrEnum):
    """Where the firewall sits on the way out: before or after the NAT gateway."""

    BEFORE_NAT = "before-nat"
    AFTER_NAT = "after-nat"


class SpokeToSpoke(enum.StrEnum):
    """Traffic between spokes: through the firewall, or dropped by the Transit Gateway."""

    INSPECTED = "inspected"
    BLOCKED = "blocked"


class SpokeModel(enum.StrEnum):
    """Model combined: a spoke through the hub's TGW, or with its own firewall."""

    TGW = "tgw"
    DISTRIBUTED = "distributed"


class FirewallMode(enum.StrEnum):
    """drop: deny what no rule passes. alert: pass it and log an alert (first rollout)."""

    DROP = "drop"
    ALERT = "alert"


class CertificateStatusAction(enum.StrEnum):
    """What TLS inspection does with a revoked or unknown server certificate."""

    PASS = "PASS"
    DROP = "DROP"
    REJECT = "REJECT"


class TgwRouteTables(enum.StrEnum):
    """two: spoke-to-spoke traffic is inspected. single: it bypasses the firewall."""

    TWO = "two"
    SINGLE = "single"


class LogDestination(enum.StrEnum):
    """Where the firewall's ALERT and FLOW logs go."""

    CLOUDWATCH = "cloudwatch"
    S3 = "s3"


class HubSpoke(TypedDict):
    """A spoke VPC declared with the hub; its internet-bound traffic passes the firewall."""

    name: str
    """1-32 lowercase letters, digits and '-'; part of every resource name of the spoke."""
    cidr: str
    """The spoke VPC's IPv4 CIDR, inside spokeSupernets and apart from every other spoke."""
    az_ids: NotRequired[list[str]]
    """AZ IDs of the spoke's subnets, a subset of the hub's (default: all of them)."""
    account_id: NotRequired[str]
    """Another account for the spoke VPC (12 digits), with roleArn."""
    role_arn: NotRequired[str]
    """A role in that account the deployment assumes to create the spoke."""
    model: NotRequired[SpokeModel]
    """Model combined only: distributed gives this spoke its own firewall and NAT."""
    allow_domains: NotRequired[list[str]]
    """Domains only this spoke may reach (TLS SNI / HTTP host), beside the hub's allowlist."""
    tags: NotRequired[dict[str, str]]
    """Tags of the spoke's resources, on top of the hub's."""


class FirewallProtections(TypedDict):
    """AWS-side protections of the firewall (all on by default)."""

    delete: NotRequired[bool]
    subnet_change: NotRequired[bool]
    policy_change: NotRequired[bool]


class TlsInspection(TypedDict):
    """Outbound TLS inspection with your CA certificate (ACM); clients must trust it."""

    certificate_authority_arn: str
    ports: NotRequired[list[int]]
    """TCP destination ports to decrypt (default [443])."""
    revoked_status_action: NotRequired[CertificateStatusAction]
    unknown_status_action: NotRequired[CertificateStatusAction]


class FirewallSettings(TypedDict):
    """The firewall's mode and protections."""

    mode: NotRequired[FirewallMode]
    """drop (default) or alert."""
    protections: NotRequired[FirewallProtections]
    tls_inspection: NotRequired[TlsInspection]


class ShareSettings(TypedDict):
    """Who may attach VPCs to the Transit Gateway (AWS RAM); external principals are refused."""

    principals: list[str]
    """Account IDs, OU ARNs or the organization ARN."""


class TransitGatewaySettings(TypedDict):
    """The Transit Gateway of the hub."""

    auto_accept: NotRequired[bool]
    """Accept attachments from other accounts automatically (default false)."""
    amazon_side_asn: NotRequired[int]
    """Private ASN (default 64512)."""
    route_tables: NotRequired[TgwRouteTables]
    accept_spoke_to_spoke_bypass: NotRequired[bool]
    owner_role_arn: NotRequired[str]
    """The TGW, its route tables and RAM share in another account, through this role."""


class LogsSettings(TypedDict):
    """Where the firewall's logs go and how long they are kept."""

    retention_days: NotRequired[int]
    """A CloudWatch Logs retention (default 365)."""
    destination: NotRequired[LogDestination]
    kms_key_arn: NotRequired[str]
    bucket_name: NotRequired[str]
    retain_on_delete: NotRequired[bool]
    """Keep log groups and buckets on destroy (default: when delete protection is on)."""


class EgressHubArgs(TypedDict):
    """The arguments of an EgressHub: the hub keys of the egress-net stack config."""

    az_ids: list[str]
    """1-6 AZ IDs (like use1-az1, never AZ names): a firewall endpoint and NAT gateway each."""
    spoke_supernets: list[str]
    """The address space spokes may use: the firewall's HOME_NET."""
    egress_vpc_cidr: NotRequired[str]
    """CIDR of the egress VPC, outside the supernets (every model but distributed)."""
    spokes: NotRequired[list[HubSpoke]]
    """Spokes declared with the hub."""
    model: NotRequired[DeploymentModel]
    placement: NotRequired[Placement]
    inspection_vpc_cidr: NotRequired[str]
    """Model centralized-inspection: CIDR of the inspection VPC."""
    spoke_to_spoke: NotRequired[SpokeToSpoke]
    az_slots: NotRequired[int]
    """AZ slots of the subnet layout: 1, 2, 4 or 8 (default from the number of AZs)."""
    firewall: NotRequired[FirewallSettings]
    rules: NotRequired[dict[str, Any]]
    """The firewall rules, as the stack config's rules object (allowDomains, ...)."""
    share: NotRequired[ShareSettings]
    transit_gateway: NotRequired[TransitGatewaySettings]
    logs: NotRequired[LogsSettings]
    tags: NotRequired[dict[str, str]]
    """Tags of every resource."""
    region: NotRequired[str]
    """The AWS region (default: the stack's aws:region)."""


def _plain_value(value: Any, path: str) -> Any:
    """The value with enums as their strings; an Output (a value another resource decides) is
    refused: these arguments decide which resources exist."""
    if isinstance(value, pulumi.Output):
        raise library.ArgumentErrors(
            [
                ConfigError(
                    path,
                    "is an output of another resource, but it decides which resources exist",
                    "give a plain value",
                )
            ]
        )
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain_value(v, f"{path}.{_camel(k)}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def library_args(args: Mapping[str, Any]) -> library.EgressHubArgs:
    """The wire arguments (Python names, as the provider maps them) as the library's."""
    plain = {k: _plain_value(v, f"EgressHubArgs.{_camel(k)}") for k, v in args.items()}
    return library.EgressHubArgs(**plain)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class EgressHub(library.EgressHub):
    """Centralized egress filtering: an egress VPC with AWS Network Firewall and NAT gateways,
    a Transit Gateway, and the spokes whose internet-bound traffic passes the firewall."""

    transit_gateway_id: pulumi.Output[str | None]
    """The Transit Gateway spokes attach to (none in model distributed)."""
    firewall_arn: pulumi.Output[str | None]
    """The hub's Network Firewall (none in model distributed)."""
    firewall_policy_arn: pulumi.Output[str]
    """The firewall policy every firewall of the hub uses."""
    egress_vpc_id: pulumi.Output[str | None]
    """The egress VPC (none in model distributed)."""
    spokes_route_table_id: pulumi.Output[str | None]
    """The TGW route table new attachments are associated with."""
    spoke_vpc_ids: pulumi.Output[dict[str, str]]
    """Each spoke's VPC, by spoke name."""
    spoke_attachment_ids: pulumi.Output[dict[str, str]]
    """Each spoke's TGW attachment, by spoke name (spokes with their own firewall have none)."""

    _argument_style = "camel"

    def __init__(
        self, name: str, args: EgressHubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        try:
            converted = library_args(args)
        except library.ArgumentErrors as err:
            raise program.ProgramError(err) from err
        super().__init__(name, converted, opts)
        contract = self.outputs
        self.transit_gateway_id = pulumi.Output.from_input(contract["transitGatewayId"])
        self.firewall_arn = pulumi.Output.from_input(contract["firewallArn"])
        self.firewall_policy_arn = pulumi.Output.from_input(contract["firewallPolicyArn"])
        self.egress_vpc_id = pulumi.Output.from_input(contract["egressVpcId"])
        self.spokes_route_table_id = pulumi.Output.from_input(contract["spokesRouteTableId"])
        self.spoke_vpc_ids = pulumi.Output.from_input({n: s.vpc_id for n, s in self.spokes.items()})
        self.spoke_attachment_ids = pulumi.Output.from_input(
            {n: s.attachment_id for n, s in self.spokes.items() if hasattr(s, "attachment_id")}
        )


class SpokeArgs(TypedDict):
    """The arguments of a Spoke attached to the hub of another stack."""

    cidr: str
    """The spoke VPC's IPv4 CIDR, inside the hub's spokeSupernets."""
    hub_stack: str
    """The hub's stack (org/project/stack): its outputs give the TGW, AZs and layout."""
    name: NotRequired[str]
    """The spoke's name in resource names (default: the resource name)."""
    az_ids: NotRequired[list[str]]
    """AZ IDs of the spoke's subnets, a subset of the hub's (default: all of them)."""
    account_id: NotRequired[str]
    """Another account for the spoke VPC (12 digits), with roleArn."""
    role_arn: NotRequired[str]
    """A role in that account the deployment assumes to create the spoke."""
    tags: NotRequired[dict[str, str]]
    """Tags of the spoke's resources."""
    region: NotRequired[str]
    """The AWS region (default: the stack's aws:region)."""


class Spoke(library.Spoke):
    """A spoke VPC attached to the Transit Gateway of a hub declared by another stack; its
    internet-bound traffic passes the hub's firewall."""

    vpc_id: pulumi.Output[str]
    """The spoke VPC."""
    attachment_id: pulumi.Output[str]
    """The spoke's Transit Gateway attachment."""

    _argument_style = "camel"

    def __init__(
        self, name: str, args: SpokeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        try:
            plain = {k: _plain_value(v, f"SpokeArgs.{_camel(k)}") for k, v in args.items()}
        except library.ArgumentErrors as err:
            raise program.ProgramError(err) from err
        super().__init__(name, library.SpokeArgs(**plain), opts)


COMPONENTS: list[type[pulumi.ComponentResource]] = [EgressHub, Spoke]


def package_schema(version: str | None = None) -> dict[str, Any]:
    """The package schema ``pulumi package add`` generates SDKs from, inferred in-process by
    the SDK's analyzer exactly as the hosted provider does (no CLI)."""
    from pulumi.provider.experimental.component import ComponentProvider

    from egress_net import __version__

    provider = ComponentProvider(COMPONENTS, PACKAGE, None, version or __version__)
    return json.loads(provider.schema)


if __name__ == "__main__":
    # `python -m egress_net.component_provider > provider/schema.json` updates the golden file.
    print(json.dumps(package_schema(), indent=2, sort_keys=True))
