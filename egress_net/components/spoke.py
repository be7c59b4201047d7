"""``Spoke``: a workload VPC whose only way out is the Transit Gateway."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from egress_net import addressing, intent
from egress_net.components.common import declare_route, route_resource_name, tags_for


@dataclass
class SpokeArgs:
    cidr: str
    az_ids: list[str]
    az_slots: int
    transit_gateway_id: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)
    # What must exist before the attachment: the hub's default TGW route tables (so the new
    # attachment lands in `spokes`/`egress`) and the RAM share.
    attach_after: list[pulumi.Resource] = field(default_factory=list)


class Spoke(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    attachment: aws.ec2transitgateway.VpcAttachment

    def __init__(
        self, name: str, args: SpokeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:Spoke", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags_for(tags, f"{name}-vpc", spoke=name),
            opts=child,
        )
        layout = addressing.carve_spoke(
            ipaddress.IPv4Network(args.cidr), args.az_ids, args.az_slots
        )
        subnets: dict[tuple[str, str], aws.ec2.Subnet] = {}
        for plan in layout:
            subnet_name = f"{name}-{plan.tier}-{plan.az_id}"
            subnets[(plan.tier, plan.az_id)] = aws.ec2.Subnet(
                subnet_name,
                vpc_id=self.vpc.id,
                cidr_block=str(plan.cidr),
                availability_zone_id=plan.az_id,
                tags=tags_for(tags, subnet_name, spoke=name, tier=plan.tier, az_id=plan.az_id),
                opts=child,
            )

        attach_opts = pulumi.ResourceOptions(parent=self, depends_on=list(args.attach_after))
        self.attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-tgw-attachment",
            transit_gateway_id=args.transit_gateway_id,
            vpc_id=self.vpc.id,
            subnet_ids=[subnets[("tgw", az)].id for az in args.az_ids],
            dns_support="enable",
            # Association and propagation are the hub's defaults: `spokes` and `egress`.
            tags=tags_for(tags, f"{name}-tgw-attachment", spoke=name),
            opts=attach_opts,
        )

        # A route to the TGW is only accepted once the VPC is attached.
        after_attach = pulumi.ResourceOptions(parent=self, depends_on=[self.attachment])
        targets = {intent.Target("tgw"): args.transit_gateway_id}
        self.route_table_ids: dict[str, pulumi.Output[str]] = {}
        for table in intent.spoke_tables(name, args.az_ids):
            rt = aws.ec2.RouteTable(
                f"{name}-rt-{table.name}",
                vpc_id=self.vpc.id,
                tags=tags_for(
                    tags, f"{name}-rt-{table.name}", spoke=name, tier=table.tier, az_id=table.az
                ),
                opts=child,
            )
            self.route_table_ids[table.name] = rt.id
            aws.ec2.RouteTableAssociation(
                f"{name}-rta-{table.name}",
                route_table_id=rt.id,
                subnet_id=subnets[(table.tier, table.az)].id,
                opts=child,
            )
            for route in table.routes:
                declare_route(
                    route_resource_name(name, table, route), rt, route, targets, after_attach
                )

        self.vpc_id = self.vpc.id
        self.attachment_id = self.attachment.id
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "attachmentId": self.attachment.id,
                "routeTableIds": self.route_table_ids,
            }
        )
