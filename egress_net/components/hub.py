"""``EgressHub``: the egress VPC, its Network Firewall, NAT gateways and the Transit Gateway.

Routing comes from :mod:`egress_net.intent`; this module only turns it into resources.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from egress_net import addressing, intent
from egress_net.components.common import declare_route, route_resource_name, tags_for


class RuleGroupSpecLike(Protocol):
    name: str
    type: str
    capacity: int
    priority: int
    rule_group: dict[str, Any]


class ManagedGroupLike(Protocol):
    name: str
    arn: str
    priority: int


@dataclass
class FirewallPolicySpec:
    """What the firewall policy holds, as decided by the rules layer (plain data)."""

    stateful_default_actions: list[str]
    stateful_engine_options: dict[str, Any]
    stateful_groups: Sequence[RuleGroupSpecLike] = ()
    stateless_groups: Sequence[RuleGroupSpecLike] = ()
    managed_groups: Sequence[ManagedGroupLike] = ()
    home_net: list[str] = field(default_factory=list)
    # Stateless engine hands everything to the stateful engine unless a stateless rule decides.
    stateless_default_actions: list[str] = field(default_factory=lambda: ["aws:forward_to_sfe"])


@dataclass
class Protections:
    delete: bool = True
    subnet_change: bool = True
    policy_change: bool = True


@dataclass
class EgressHubArgs:
    az_ids: list[str]
    az_slots: int
    vpc_cidr: str
    spoke_supernets: list[str]
    policy: FirewallPolicySpec
    share_principals: list[str] = field(default_factory=list)
    auto_accept: bool = False
    amazon_side_asn: int = 64512
    protections: Protections = field(default_factory=Protections)
    log_retention_days: int = 365
    log_group_prefix: str = "/egress-net"
    tags: dict[str, str] = field(default_factory=dict)


def endpoint_for_subnet(firewall_statuses: Any, subnet_id: str) -> str:
    """The firewall endpoint serving ``subnet_id``, read from the firewall's sync states.

    Sync states are keyed by AZ *name*, which maps to a different zone in every account; the
    subnet is the stable key (it was created in a known AZ ID), so look the endpoint up by it.
    """
    for status in firewall_statuses or []:
        for sync in _field(status, "sync_states", "syncStates") or []:
            for attachment in _as_list(_field(sync, "attachments", "attachment")):
                if _field(attachment, "subnet_id", "subnetId") == subnet_id:
                    endpoint = _field(attachment, "endpoint_id", "endpointId")
                    if endpoint:
                        return str(endpoint)
    raise ValueError(f"the firewall reports no endpoint for subnet {subnet_id}")


def _field(obj: Any, snake: str, camel: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(camel, obj.get(snake))
    return getattr(obj, snake, None)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


class EgressHub(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EgressHubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:EgressHub", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        az_ids = list(args.az_ids)

        # --- egress VPC and its subnets ---------------------------------------------------
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags_for(tags, f"{name}-vpc", role="egress"),
            opts=child,
        )
        layout = addressing.carve_tiers(
            ipaddress.IPv4Network(args.vpc_cidr), az_ids, addressing.EGRESS_TIERS, args.az_slots
        )
        self.subnets: dict[tuple[str, str], aws.ec2.Subnet] = {}
        for plan in layout:
            subnet_name = f"{name}-{plan.tier}-{plan.az_id}"
            self.subnets[(plan.tier, plan.az_id)] = aws.ec2.Subnet(
                subnet_name,
                vpc_id=self.vpc.id,
                cidr_block=str(plan.cidr),
                availability_zone_id=plan.az_id,
                tags=tags_for(tags, subnet_name, role="egress", tier=plan.tier, az_id=plan.az_id),
                opts=child,
            )
        self.igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=tags_for(tags, f"{name}-igw"), opts=child
        )

        # --- one NAT gateway per AZ, so no AZ depends on another -------------------------
        self.nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for az in az_ids:
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{az}",
                domain="vpc",
                tags=tags_for(tags, f"{name}-nat-eip-{az}", az_id=az),
                opts=child,
            )
            self.nat_gateways[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                subnet_id=self.subnets[("public", az)].id,
                allocation_id=eip.allocation_id,
                connectivity_type="public",
                tags=tags_for(tags, f"{name}-nat-{az}", az_id=az),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.igw]),
            )

        # --- Network Firewall --------------------------------------------------------------
        self.policy = self._firewall_policy(name, args.policy, tags, child)
        self.firewall = aws.networkfirewall.Firewall(
            f"{name}-firewall",
            vpc_id=self.vpc.id,
            firewall_policy_arn=self.policy.arn,
            subnet_mappings=[{"subnet_id": self.subnets[("firewall", az)].id} for az in az_ids],
            delete_protection=args.protections.delete,
            subnet_change_protection=args.protections.subnet_change,
            firewall_policy_change_protection=args.protections.policy_change,
            tags=tags_for(tags, f"{name}-firewall"),
            opts=child,
        )
        self.endpoint_ids: dict[str, pulumi.Output[str]] = {
            az: pulumi.Output.all(
                self.firewall.firewall_statuses, self.subnets[("firewall", az)].id
            ).apply(lambda v: endpoint_for_subnet(v[0], v[1]))
            for az in az_ids
        }
        self._logging(name, args, tags, child)

        # --- Transit Gateway ---------------------------------------------------------------
        self.tgw = aws.ec2transitgateway.TransitGateway(
            f"{name}-tgw",
            description=f"egress-net {name}: spokes reach the internet through the firewall",
            amazon_side_asn=args.amazon_side_asn,
            auto_accept_shared_attachments="enable" if args.auto_accept else "disable",
            default_route_table_association="enable",
            default_route_table_propagation="enable",
            dns_support="enable",
            tags=tags_for(tags, f"{name}-tgw"),
            opts=child,
        )
        self.egress_attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-egress-attachment",
            transit_gateway_id=self.tgw.id,
            vpc_id=self.vpc.id,
            subnet_ids=[self.subnets[("tgw", az)].id for az in az_ids],
            # Appliance mode keeps both directions of a flow on one firewall endpoint, also
            # for spoke-to-spoke traffic between different AZs.
            appliance_mode_support="enable",
            dns_support="enable",
            transit_gateway_default_route_table_association=False,
            transit_gateway_default_route_table_propagation=False,
            tags=tags_for(tags, f"{name}-egress-attachment"),
            opts=child,
        )
        # Resources a spoke attachment must wait for; filled as they are declared.
        self.attachment_prerequisites: list[pulumi.Resource] = []
        self.tgw_route_tables = self._tgw_route_tables(name, tags, child)

        # --- VPC route tables, per AZ, from the intent ------------------------------------
        targets: dict[intent.Target, pulumi.Input[str]] = {
            intent.Target("igw"): self.igw.id,
            intent.Target("tgw"): self.tgw.id,
        }
        for az in az_ids:
            targets[intent.Target("nat", az)] = self.nat_gateways[az].id
            targets[intent.Target("firewall", az)] = self.endpoint_ids[az]
        # Routes to the TGW need the attachment in place.
        route_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.egress_attachment])
        self.route_table_ids: dict[str, pulumi.Output[str]] = {}
        for table in intent.egress_vpc_tables(az_ids, args.spoke_supernets):
            rt = aws.ec2.RouteTable(
                f"{name}-rt-{table.name}",
                vpc_id=self.vpc.id,
                tags=tags_for(
                    tags, f"{name}-rt-{table.name}", role="egress", tier=table.tier, az_id=table.az
                ),
                opts=child,
            )
            self.route_table_ids[table.name] = rt.id
            aws.ec2.RouteTableAssociation(
                f"{name}-rta-{table.name}",
                route_table_id=rt.id,
                subnet_id=self.subnets[(table.tier, table.az)].id,
                opts=child,
            )
            for route in table.routes:
                declare_route(
                    route_resource_name(name, table, route), rt, route, targets, route_opts
                )

        # --- share the TGW with the spoke accounts -----------------------------------------
        self.ram_share = self._share(name, args, tags, child)

        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "transitGatewayId": self.tgw.id,
                "firewallArn": self.firewall.arn,
                "endpointIds": self.endpoint_ids,
                "tgwRouteTableIds": {k: v.id for k, v in self.tgw_route_tables.items()},
            }
        )

    # -----------------------------------------------------------------------------------------

    def _firewall_policy(
        self,
        name: str,
        spec: FirewallPolicySpec,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.networkfirewall.FirewallPolicy:
        stateful_refs: list[dict[str, Any]] = []
        for group in spec.stateful_groups:
            rg = aws.networkfirewall.RuleGroup(
                f"{name}-rg-{group.name}",
                name=group.name,
                type=group.type,
                capacity=group.capacity,
                rule_group=group.rule_group,
                tags=tags_for(tags, group.name),
                # Capacity is immutable: a group that must grow gets a new name, is created
                # first, and only then is the old one removed from the policy and deleted.
                # (Pulumi's default create-before-replace gives exactly that order.)
                opts=child,
            )
            stateful_refs.append({"resource_arn": rg.arn, "priority": group.priority})
        for managed in spec.managed_groups:
            stateful_refs.append({"resource_arn": managed.arn, "priority": managed.priority})
        stateless_refs: list[dict[str, Any]] = []
        for group in spec.stateless_groups:
            rg = aws.networkfirewall.RuleGroup(
                f"{name}-rg-{group.name}",
                name=group.name,
                type=group.type,
                capacity=group.capacity,
                rule_group=group.rule_group,
                tags=tags_for(tags, group.name),
                opts=child,
            )
            stateless_refs.append({"resource_arn": rg.arn, "priority": group.priority})

        policy: dict[str, Any] = {
            "stateless_default_actions": spec.stateless_default_actions,
            "stateless_fragment_default_actions": spec.stateless_default_actions,
            "stateful_default_actions": spec.stateful_default_actions,
            "stateful_engine_options": spec.stateful_engine_options,
            "stateful_rule_group_references": stateful_refs,
            "stateless_rule_group_references": stateless_refs,
        }
        if spec.home_net:
            policy["policy_variables"] = {
                "rule_variables": [{"key": "HOME_NET", "ip_set": {"definitions": spec.home_net}}]
            }
        return aws.networkfirewall.FirewallPolicy(
            f"{name}-policy",
            firewall_policy=policy,
            tags=tags_for(tags, f"{name}-policy"),
            opts=child,
        )

    def _logging(
        self, name: str, args: EgressHubArgs, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> None:
        destinations = []
        for log_type in ("ALERT", "FLOW"):
            group = aws.cloudwatch.LogGroup(
                f"{name}-{log_type.lower()}-logs",
                name=f"{args.log_group_prefix}/{name}/{log_type.lower()}",
                retention_in_days=args.log_retention_days,
                tags=tags_for(tags, f"{name}-{log_type.lower()}-logs"),
                opts=child,
            )
            destinations.append(
                {
                    "log_destination": {"logGroup": group.name},
                    "log_destination_type": "CloudWatchLogs",
                    "log_type": log_type,
                }
            )
        aws.networkfirewall.LoggingConfiguration(
            f"{name}-logging",
            firewall_arn=self.firewall.arn,
            logging_configuration={"log_destination_configs": destinations},
            opts=child,
        )

    def _tgw_route_tables(
        self, name: str, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> dict[str, aws.ec2transitgateway.RouteTable]:
        attachments = {"egress": self.egress_attachment.id}
        tables: dict[str, aws.ec2transitgateway.RouteTable] = {}
        for spec in intent.tgw_tables_egress_only():
            table = aws.ec2transitgateway.RouteTable(
                f"{name}-tgw-rt-{spec.name}",
                transit_gateway_id=self.tgw.id,
                tags=tags_for(tags, f"{name}-tgw-rt-{spec.name}", tgw_table=spec.name),
                opts=child,
            )
            tables[spec.name] = table
            for who in spec.associate:
                if who == "new-attachments":
                    default = aws.ec2transitgateway.DefaultRouteTableAssociation(
                        f"{name}-tgw-default-association",
                        transit_gateway_id=self.tgw.id,
                        transit_gateway_route_table_id=table.id,
                        opts=child,
                    )
                    self.attachment_prerequisites.append(default)
                else:
                    aws.ec2transitgateway.RouteTableAssociation(
                        f"{name}-tgw-assoc-{who}-{spec.name}",
                        transit_gateway_attachment_id=attachments[who],
                        transit_gateway_route_table_id=table.id,
                        opts=child,
                    )
            for who in spec.propagate:
                if who == "new-attachments":
                    default = aws.ec2transitgateway.DefaultRouteTablePropagation(
                        f"{name}-tgw-default-propagation",
                        transit_gateway_id=self.tgw.id,
                        transit_gateway_route_table_id=table.id,
                        opts=child,
                    )
                    self.attachment_prerequisites.append(default)
                else:
                    aws.ec2transitgateway.RouteTablePropagation(
                        f"{name}-tgw-prop-{who}-{spec.name}",
                        transit_gateway_attachment_id=attachments[who],
                        transit_gateway_route_table_id=table.id,
                        opts=child,
                    )
            for route in spec.routes:
                dest = route.destination.replace("/", "-").replace(".", "-")
                aws.ec2transitgateway.Route(
                    f"{name}-tgw-route-{spec.name}-{dest}",
                    transit_gateway_route_table_id=table.id,
                    destination_cidr_block=route.destination,
                    transit_gateway_attachment_id=attachments.get(route.attachment),
                    blackhole=route.attachment == "blackhole" or None,
                    opts=child,
                )
        return tables

    def _share(
        self, name: str, args: EgressHubArgs, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> aws.ram.ResourceShare | None:
        if not args.share_principals:
            return None
        share = aws.ram.ResourceShare(
            f"{name}-tgw-share",
            allow_external_principals=False,  # only principals inside the organization
            tags=tags_for(tags, f"{name}-tgw-share"),
            opts=child,
        )
        aws.ram.ResourceAssociation(
            f"{name}-tgw-share-tgw",
            resource_arn=self.tgw.arn,
            resource_share_arn=share.arn,
            opts=child,
        )
        for principal in args.share_principals:
            label = principal.rsplit("/", 1)[-1]
            self.attachment_prerequisites.append(
                aws.ram.PrincipalAssociation(
                    f"{name}-tgw-share-{label}",
                    principal=principal,
                    resource_share_arn=share.arn,
                    opts=child,
                )
            )
        return share
