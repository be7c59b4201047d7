"""The IAM actions a deploy needs in the accounts it reaches through an assumed role.

The hub stack deploys into other accounts through two roles: a spoke account's
``spokes[].roleArn`` and the Transit Gateway owner's ``transitGateway.ownerRoleArn``. The
policies of those roles are shipped in ``docs/iam/*.json``; this module says which actions the
program's resources need, so a test can hold the documents to exactly that set.

``RESOURCE_ACTIONS`` maps each ``pulumi_aws`` type the program declares through such a role to
the API calls its provider (the bridged Terraform AWS provider) makes to create, read, update
and delete it, named as IAM actions (Service Authorization Reference). Pure data, no Pulumi.
The calls are read from the provider's resource implementations in hashicorp/
terraform-provider-aws (e.g. ``internal/service/ec2/transitgateway_vpc_attachment.go``: the read
looks up the TGW and, for a TGW of the VPC's own account, its default-table association and
propagation; ``internal/service/networkfirewall/firewall_transit_gateway_attachment_accepter.go``:
AcceptNetworkFirewallTransitGatewayAttachment, then EC2 DescribeTransitGatewayAttachments to
wait and read, DeleteNetworkFirewallTransitGatewayAttachment to delete).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from egress_net.recording import Recording

PROVIDER_TYPE = "pulumi:providers:aws"

# Every EC2 resource with tags: tags go on at create time (CreateTags is authorised for
# tag-on-create, EC2 User Guide "Grant permission to tag resources during creation") and are
# changed by CreateTags/DeleteTags later.
_EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")


@dataclass(frozen=True)
class ResourceActions:
    """The IAM actions behind one resource type's create, read, update and delete."""

    create: tuple[str, ...]
    read: tuple[str, ...]
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()

    @property
    def all(self) -> frozenset[str]:
        return frozenset((*self.create, *self.read, *self.update, *self.delete))


RESOURCE_ACTIONS: dict[str, ResourceActions] = {
    # --- a spoke account (spokes[].roleArn): the spoke VPC and its attachment -----------------
    "aws:ec2/vpc:Vpc": ResourceActions(
        create=("ec2:CreateVpc", "ec2:ModifyVpcAttribute", *_EC2_TAGS),
        # The provider also reads the VPC's default route table, network ACL and security group.
        read=(
            "ec2:DescribeVpcs",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeRouteTables",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeSecurityGroups",
        ),
        update=("ec2:ModifyVpcAttribute",),
        delete=("ec2:DeleteVpc",),
    ),
    "aws:ec2/subnet:Subnet": ResourceActions(
        create=("ec2:CreateSubnet", "ec2:ModifySubnetAttribute", *_EC2_TAGS),
        read=("ec2:DescribeSubnets",),
        update=("ec2:ModifySubnetAttribute",),
        # Before deleting, the provider looks for network interfaces left in the subnet.
        delete=("ec2:DeleteSubnet", "ec2:DescribeNetworkInterfaces"),
    ),
    "aws:ec2/routeTable:RouteTable": ResourceActions(
        create=("ec2:CreateRouteTable", *_EC2_TAGS),
        read=("ec2:DescribeRouteTables",),
        delete=("ec2:DeleteRouteTable",),
    ),
    "aws:ec2/route:Route": ResourceActions(
        create=("ec2:CreateRoute",),
        read=("ec2:DescribeRouteTables",),
        update=("ec2:ReplaceRoute",),
        delete=("ec2:DeleteRoute",),
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ResourceActions(
        create=("ec2:AssociateRouteTable",),
        read=("ec2:DescribeRouteTables",),
        update=("ec2:ReplaceRouteTableAssociation",),
        delete=("ec2:DisassociateRouteTable",),
    ),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": ResourceActions(
        create=("ec2:CreateTransitGatewayVpcAttachment", *_EC2_TAGS),
        # The provider reads the TGW and, for a TGW of this account, its default tables.
        read=(
            "ec2:DescribeTransitGatewayVpcAttachments",
            "ec2:DescribeTransitGateways",
            "ec2:GetTransitGatewayRouteTableAssociations",
            "ec2:GetTransitGatewayRouteTablePropagations",
        ),
        update=("ec2:ModifyTransitGatewayVpcAttachment",),
        delete=("ec2:DeleteTransitGatewayVpcAttachment",),
    ),
    # --- the Transit Gateway owner (transitGateway.ownerRoleArn) ------------------------------
    "aws:ec2transitgateway/transitGateway:TransitGateway": ResourceActions(
        create=("ec2:CreateTransitGateway", *_EC2_TAGS),
        read=("ec2:DescribeTransitGateways",),
        update=("ec2:ModifyTransitGateway",),
        delete=("ec2:DeleteTransitGateway",),
    ),
    "aws:ec2transitgateway/routeTable:RouteTable": ResourceActions(
        create=("ec2:CreateTransitGatewayRouteTable", *_EC2_TAGS),
        # Whether the table is the TGW's default association/propagation table.
        read=("ec2:DescribeTransitGatewayRouteTables", "ec2:DescribeTransitGateways"),
        delete=("ec2:DeleteTransitGatewayRouteTable",),
    ),
    "aws:ec2transitgateway/route:Route": ResourceActions(
        create=("ec2:CreateTransitGatewayRoute",),
        read=("ec2:SearchTransitGatewayRoutes",),
        delete=("ec2:DeleteTransitGatewayRoute",),
    ),
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": ResourceActions(
        # replace_existing_association: the current association is looked up and removed.
        create=(
            "ec2:AssociateTransitGatewayRouteTable",
            "ec2:DescribeTransitGatewayAttachments",
            "ec2:DisassociateTransitGatewayRouteTable",
        ),
        read=("ec2:GetTransitGatewayRouteTableAssociations",),
        delete=("ec2:DisassociateTransitGatewayRouteTable",),
    ),
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": ResourceActions(
        create=("ec2:EnableTransitGatewayRouteTablePropagation",),
        read=("ec2:GetTransitGatewayRouteTablePropagations",),
        delete=("ec2:DisableTransitGatewayRouteTablePropagation",),
    ),
    "aws:ec2transitgateway/defaultRouteTableAssociation:DefaultRouteTableAssociation": (
        ResourceActions(
            create=("ec2:ModifyTransitGateway",),
            read=("ec2:DescribeTransitGateways",),
            update=("ec2:ModifyTransitGateway",),
            delete=("ec2:ModifyTransitGateway",),
        )
    ),
    "aws:ec2transitgateway/defaultRouteTablePropagation:DefaultRouteTablePropagation": (
        ResourceActions(
            create=("ec2:ModifyTransitGateway",),
            read=("ec2:DescribeTransitGateways",),
            update=("ec2:ModifyTransitGateway",),
            delete=("ec2:ModifyTransitGateway",),
        )
    ),
    "aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter": ResourceActions(
        # Accepting, then putting the attachment in (or out of) the default tables.
        create=(
            "ec2:AcceptTransitGatewayVpcAttachment",
            "ec2:AssociateTransitGatewayRouteTable",
            "ec2:DisassociateTransitGatewayRouteTable",
            "ec2:EnableTransitGatewayRouteTablePropagation",
            "ec2:DisableTransitGatewayRouteTablePropagation",
            *_EC2_TAGS,
        ),
        read=(
            "ec2:DescribeTransitGatewayVpcAttachments",
            "ec2:DescribeTransitGateways",
            "ec2:GetTransitGatewayRouteTableAssociations",
            "ec2:GetTransitGatewayRouteTablePropagations",
        ),
        update=(
            "ec2:AssociateTransitGatewayRouteTable",
            "ec2:DisassociateTransitGatewayRouteTable",
            "ec2:EnableTransitGatewayRouteTablePropagation",
            "ec2:DisableTransitGatewayRouteTablePropagation",
        ),
        # Deleting the accepter deletes the attachment from the owner's side.
        delete=("ec2:DeleteTransitGatewayVpcAttachment",),
    ),
    "aws:networkfirewall/firewallTransitGatewayAttachmentAccepter:"
    "FirewallTransitGatewayAttachmentAccepter": ResourceActions(
        create=("network-firewall:AcceptNetworkFirewallTransitGatewayAttachment",),
        read=("ec2:DescribeTransitGatewayAttachments",),
        delete=("network-firewall:DeleteNetworkFirewallTransitGatewayAttachment",),
    ),
    # --- a spoke account: its VPC under the hub's shared DNS Firewall rule group ------------
    # terraform-provider-aws internal/service/route53resolver: firewall_rule_group_association.go
    # (AssociateFirewallRuleGroup with tags, Get… to wait and read, tags listed and updated,
    # DisassociateFirewallRuleGroup), firewall_config.go (UpdateFirewallConfig to create, update
    # and delete, back to DISABLED; read by ListFirewallConfigs: "GetFirewallConfig does not
    # support query by ID"), query_log_config_association.go.
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": (
        ResourceActions(
            create=("route53resolver:AssociateFirewallRuleGroup", "route53resolver:TagResource"),
            read=(
                "route53resolver:GetFirewallRuleGroupAssociation",
                "route53resolver:ListTagsForResource",
            ),
            update=(
                "route53resolver:UpdateFirewallRuleGroupAssociation",
                "route53resolver:TagResource",
                "route53resolver:UntagResource",
            ),
            delete=("route53resolver:DisassociateFirewallRuleGroup",),
        )
    ),
    "aws:route53/resolverFirewallConfig:ResolverFirewallConfig": ResourceActions(
        create=("route53resolver:UpdateFirewallConfig",),
        read=("route53resolver:ListFirewallConfigs",),
        update=("route53resolver:UpdateFirewallConfig",),
        delete=("route53resolver:UpdateFirewallConfig",),
    ),
    "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation": (
        ResourceActions(
            create=("route53resolver:AssociateResolverQueryLogConfig",),
            read=("route53resolver:GetResolverQueryLogConfigAssociation",),
            delete=("route53resolver:DisassociateResolverQueryLogConfig",),
        )
    ),
    "aws:ram/resourceShare:ResourceShare": ResourceActions(
        create=("ram:CreateResourceShare", "ram:TagResource"),
        read=("ram:GetResourceShares",),
        update=("ram:UpdateResourceShare", "ram:TagResource", "ram:UntagResource"),
        delete=("ram:DeleteResourceShare",),
    ),
    "aws:ram/resourceAssociation:ResourceAssociation": ResourceActions(
        create=("ram:AssociateResourceShare",),
        read=("ram:GetResourceShareAssociations",),
        delete=("ram:DisassociateResourceShare",),
    ),
    "aws:ram/principalAssociation:PrincipalAssociation": ResourceActions(
        create=("ram:AssociateResourceShare",),
        read=("ram:GetResourceShareAssociations",),
        delete=("ram:DisassociateResourceShare",),
    ),
}


class UnmappedTypes(LookupError):
    """Types declared through a role that ``RESOURCE_ACTIONS`` does not cover yet."""


def actions_for_types(types: Iterable[str]) -> frozenset[str]:
    """Every IAM action the resources of ``types`` need; ``UnmappedTypes`` names the types the
    table lacks (a new resource type must be added here, and to the policies in docs/iam)."""
    wanted = set(types)
    missing = sorted(wanted - RESOURCE_ACTIONS.keys())
    if missing:
        raise UnmappedTypes(f"no IAM actions known for {missing}: add them to RESOURCE_ACTIONS")
    actions: set[str] = set()
    for type_token in wanted:
        actions |= RESOURCE_ACTIONS[type_token].all
    return frozenset(actions)


def types_by_role(recording: Recording) -> dict[str, set[str]]:
    """Resource types declared through each assumed role: role ARN → types. Resources of the
    default provider (the deploying account itself) are left out."""
    roles: dict[str, str] = {}
    for provider in recording.of_type(PROVIDER_TYPE):
        assume = provider.inputs.get("assumeRoles") or []
        role = assume[0].get("roleArn") if assume and isinstance(assume[0], dict) else None
        if role:
            roles[provider.urn] = str(role)
    found: dict[str, set[str]] = {}
    for resource in recording.resources:
        if not resource.custom or not resource.provider:
            continue
        role = roles.get(resource.provider.rsplit("::", 1)[0])
        if role is not None:
            found.setdefault(role, set()).add(resource.type)
    return found


def policy_actions(document: dict[str, object]) -> frozenset[str]:
    """The actions an IAM policy document allows (``Allow`` statements, no wildcards)."""
    statements = document.get("Statement")
    if not isinstance(statements, list):
        raise ValueError("an IAM policy document has a Statement list")
    actions: set[str] = set()
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        listed = statement.get("Action", [])
        for action in [listed] if isinstance(listed, str) else listed:
            if "*" in action:
                raise ValueError(f"{action!r}: a least-privilege policy names each action")
            actions.add(action)
    return frozenset(actions)
