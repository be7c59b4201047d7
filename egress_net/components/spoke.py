"""Spoke components: ``Spoke`` (attached to the Transit Gateway, no way out of its own) and
``DistributedSpoke`` (its own firewall, NAT gateways and Internet gateway, no TGW)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from egress_net import intent
from egress_net.components.ingress import SpokeIngress, build_spoke_ingress, plan_with_ingress
from egress_net.components.network import (
    LogSettings,
    Protections,
    build_firewall_in_vpc,
    build_firewall_logging,
    build_route_tables,
    build_vpc,
    local_targets,
    tags_for,
)


@dataclass
class SpokeArgs:
    cidr: str
    az_ids: list[str]
    az_slots: int
    transit_gateway_id: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)
    # What must exist before the attachment: the hub's default TGW route tables (so the new
    # attachment lands in the right tables) and the RAM share.
    attach_after: list[pulumi.Resource] = field(default_factory=list)
    # Declares the TGW owner's acceptance of the attachment, when another account owns the TGW
    # and does not accept automatically; routes to the TGW wait for it.
    accept_attachment: Callable[[aws.ec2transitgateway.VpcAttachment], pulumi.Resource] | None = (
        None
    )
    # The attachment's own default-propagation flag (None: the provider's default).
    default_propagation: bool | None = None
    # False while the attachment waits for acceptance: no route through it yet.
    connected: bool = True
    # Distributed ingress: public applications served from this spoke's own VPC.
    ingress: SpokeIngress | None = None


class Spoke(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: SpokeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:Spoke", name, None, opts)
        plan = plan_with_ingress(
            intent.tgw_spoke(args.az_ids, connected=args.connected), args.az_ids, args.ingress
        )
        labels = {"spoke": name}
        built = build_vpc(
            self, name, args.cidr, args.az_ids, args.az_slots, plan, args.tags, labels
        )
        self.vpc = built.vpc
        self.attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-tgw-attachment",
            transit_gateway_id=args.transit_gateway_id,
            vpc_id=built.vpc.id,
            subnet_ids=built.subnet_ids("tgw", args.az_ids),
            dns_support="enable",
            # Association and propagation follow the hub's TGW defaults.
            transit_gateway_default_route_table_propagation=args.default_propagation,
            tags=tags_for(args.tags, f"{name}-tgw-attachment", spoke=name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.attach_after)),
        )
        route_after: list[pulumi.Resource] = [self.attachment]
        if args.accept_attachment is not None:
            route_after.append(args.accept_attachment(self.attachment))
        targets: dict[intent.Target, pulumi.Input[str]] = {
            intent.Target("tgw"): args.transit_gateway_id
        }
        load_balancers = None
        if args.ingress is not None:
            extra, load_balancers = build_spoke_ingress(
                self, built, args.az_ids, args.ingress, args.tags
            )
            targets.update(extra)
        build_route_tables(self, built, targets, args.tags, labels, route_after)
        self.load_balancers = load_balancers() if load_balancers else {}
        self.vpc_id = built.vpc.id
        self.attachment_id = self.attachment.id
        # What a route through this attachment waits for (the attachment, its acceptance).
        self.connected_after = route_after
        self.route_table_ids = built.route_table_ids
        self.register_outputs(
            {
                "vpcId": built.vpc.id,
                "attachmentId": self.attachment.id,
                "routeTableIds": built.route_table_ids,
            }
        )


@dataclass
class DistributedSpokeArgs:
    cidr: str
    az_ids: list[str]
    az_slots: int
    policy_arn: pulumi.Input[str]
    placement: intent.Placement = "before-nat"
    protections: Protections = field(default_factory=Protections)
    logs: LogSettings = field(default_factory=LogSettings)
    tags: dict[str, str] = field(default_factory=dict)
    # Distributed ingress: public applications served from this spoke's own VPC.
    ingress: SpokeIngress | None = None


class DistributedSpoke(pulumi.ComponentResource):
    """A spoke that inspects its own egress: firewall endpoints, NAT and IGW in its own VPC,
    using the hub's shared firewall policy."""

    def __init__(
        self, name: str, args: DistributedSpokeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:DistributedSpoke", name, None, opts)
        plan = plan_with_ingress(
            intent.distributed_spoke(args.az_ids, args.placement), args.az_ids, args.ingress
        )
        labels = {"spoke": name}
        built = build_vpc(
            self, name, args.cidr, args.az_ids, args.az_slots, plan, args.tags, labels
        )
        firewall, endpoints = build_firewall_in_vpc(
            self, built, args.az_ids, args.policy_arn, args.protections, args.tags
        )
        build_firewall_logging(self, name, firewall, args.logs, args.tags)
        targets = local_targets(built, args.az_ids)
        for az in args.az_ids:
            targets[intent.Target("firewall", az)] = endpoints[az]
        load_balancers = None
        if args.ingress is not None:
            extra, load_balancers = build_spoke_ingress(
                self, built, args.az_ids, args.ingress, args.tags
            )
            targets.update(extra)
        build_route_tables(self, built, targets, args.tags, labels)
        self.load_balancers = load_balancers() if load_balancers else {}
        self.vpc_id = built.vpc.id
        self.firewall = firewall
        self.register_outputs({"vpcId": built.vpc.id, "firewallArn": firewall.arn})
