"""Ingress wiring: internet-facing load balancers behind a firewall, from the ingress intent.

``CentralizedIngress`` is the hub's ingress VPC (load balancers, firewall, TGW attachment);
distributed ingress adds the same load balancers and an ingress firewall to a spoke's own VPC
(:func:`build_load_balancers`, :func:`build_ingress_firewall`, used by the spoke components).
Routing comes from :mod:`egress_net.intent`; rules from :mod:`egress_net.rules.ingress`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from egress_net import intent, naming
from egress_net.components.network import (
    BuiltVpc,
    LogSettings,
    Protections,
    build_firewall_in_vpc,
    build_firewall_logging,
    build_route_tables,
    build_vpc,
    local_targets,
    tags_for,
)
from egress_net.rules.ingress import INGRESS_PRIORITY, IngressPolicyPlan

# A TLS policy with TLS 1.3 and 1.2 only (ELB "Security policies for your Application Load
# Balancer": ELBSecurityPolicy-TLS13-1-2-2021-06 is the recommended policy).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class ApplicationSpec:
    """One public application, as the wiring needs it (from ``config.IngressApplicationConfig``)."""

    name: str
    load_balancer_type: str  # application | network
    protocol: str  # listener: HTTPS | HTTP | TCP
    port: int
    target_protocol: str
    target_port: int
    targets: tuple[str, ...]
    sources: tuple[str, ...]
    certificate_arn: str | None = None
    health_check: Mapping[str, Any] = field(default_factory=dict)

    @property
    def short_type(self) -> str:
        return "alb" if self.load_balancer_type == "application" else "nlb"


def health_check_args(app: ApplicationSpec) -> dict[str, Any]:
    """The target group's health check: HTTP(S) path and codes for an ALB, TCP for an NLB."""
    hc = app.health_check
    args: dict[str, Any] = {
        "enabled": True,
        "port": str(hc.get("port") or "traffic-port"),
        "interval": hc.get("interval_seconds", 30),
        "healthy_threshold": hc.get("healthy_threshold", 3),
        "unhealthy_threshold": hc.get("unhealthy_threshold", 3),
    }
    if app.load_balancer_type == "application":
        args |= {
            "protocol": app.target_protocol,
            "path": hc.get("path", "/"),
            "matcher": hc.get("matcher", "200-399"),
        }
    else:
        args["protocol"] = "TCP"
    return args


@dataclass
class BuiltLoadBalancer:
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    listener: aws.lb.Listener


def build_load_balancers(
    parent: pulumi.Resource,
    prefix: str,
    vpc_id: pulumi.Input[str],
    lb_subnet_ids: Sequence[pulumi.Input[str]],
    apps: Sequence[ApplicationSpec],
    *,
    targets_outside_vpc: bool,
    names: naming.StackNames,
    tags: Mapping[str, str],
    depends_on: Sequence[pulumi.Resource] = (),
) -> dict[str, BuiltLoadBalancer]:
    """Per application: a security group, an internet-facing load balancer in the LB subnets,
    an IP target group with its targets, and a listener."""
    child = pulumi.ResourceOptions(parent=parent)
    built: dict[str, BuiltLoadBalancer] = {}
    for app in apps:
        base = f"{prefix}-{app.name}"
        sg = aws.ec2.SecurityGroup(
            f"{base}-lb-sg",
            vpc_id=vpc_id,
            description=f"load balancer of {app.name}: clients in, targets out",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": app.port,
                    "to_port": app.port,
                    "cidr_blocks": list(app.sources),
                    "description": "clients allowed by ingress config",
                }
            ],
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": port,
                    "to_port": port,
                    "cidr_blocks": [f"{t}/32" for t in app.targets],
                    "description": "targets and their health checks",
                }
                for port in sorted({app.target_port, int(app.health_check.get("port") or 0)} - {0})
            ],
            tags=tags_for(tags, f"{base}-lb-sg", ingress_app=app.name),
            opts=child,
        )
        lb = aws.lb.LoadBalancer(
            f"{base}-lb",
            name=names.load_balancer(app.name, app.short_type),
            load_balancer_type=app.load_balancer_type,
            internal=False,
            subnets=list(lb_subnet_ids),
            security_groups=[sg.id],
            ip_address_type="ipv4",
            # ALB: drop headers that are not valid HTTP instead of forwarding them.
            drop_invalid_header_fields=True if app.load_balancer_type == "application" else None,
            tags=tags_for(tags, f"{base}-lb", ingress_app=app.name),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
        )
        tg = aws.lb.TargetGroup(
            f"{base}-tg",
            name=names.target_group(app.name, app.target_protocol, app.target_port),
            target_type="ip",
            protocol=app.target_protocol,
            port=app.target_port,
            vpc_id=vpc_id,
            health_check=health_check_args(app),
            # The targets must answer the load balancer, not the client: with the client's
            # address preserved (an NLB option) their replies would leave by the workload
            # subnet's 0/0 and miss the firewall that saw the request.
            preserve_client_ip="false" if app.load_balancer_type == "network" else None,
            tags=tags_for(tags, f"{base}-tg", ingress_app=app.name),
            opts=child,
        )
        for i, target in enumerate(app.targets):
            aws.lb.TargetGroupAttachment(
                f"{base}-target-{i}",
                target_group_arn=tg.arn,
                target_id=target,
                port=app.target_port,
                # ELB RegisterTargets: an IP target outside the target group's VPC (across
                # the TGW) must name AvailabilityZone "all".
                availability_zone="all" if targets_outside_vpc else None,
                opts=child,
            )
        listener_args: dict[str, Any] = {}
        if app.protocol == "HTTPS":
            listener_args = {"certificate_arn": app.certificate_arn, "ssl_policy": TLS_POLICY}
        listener = aws.lb.Listener(
            f"{base}-listener",
            load_balancer_arn=lb.arn,
            port=app.port,
            protocol=app.protocol,
            default_actions=[{"type": "forward", "target_group_arn": tg.arn}],
            tags=tags_for(tags, f"{base}-listener", ingress_app=app.name),
            opts=child,
            **listener_args,
        )
        built[app.name] = BuiltLoadBalancer(lb, tg, listener)
    return built


def build_ingress_policy(
    parent: pulumi.Resource,
    name: str,
    plan: IngressPolicyPlan,
    names: naming.StackNames,
    tags: Mapping[str, str],
) -> aws.networkfirewall.FirewallPolicy:
    """The ingress firewalls' policy: inbound rules only, HOME_NET the load balancer subnets."""
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.networkfirewall.RuleGroup(
        f"{name}-rg-{plan.group_name}",
        name=names.rule_group(plan.group_name),
        type="STATEFUL",
        capacity=plan.capacity,
        rule_group={
            "rules_source": {"rules_string": plan.rules},
            "rule_variables": {
                "ip_sets": [{"key": "HOME_NET", "ip_set": {"definitions": list(plan.home_net)}}]
            },
            "stateful_rule_options": {"rule_order": "STRICT_ORDER"},
        },
        tags=tags_for(tags, plan.group_name),
        opts=child,
    )
    return aws.networkfirewall.FirewallPolicy(
        f"{name}-policy",
        firewall_policy={
            "stateless_default_actions": ["aws:forward_to_sfe"],
            "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
            "stateful_default_actions": list(plan.stateful_default_actions),
            "stateful_engine_options": {"rule_order": "STRICT_ORDER"},
            "stateful_rule_group_references": [
                {"resource_arn": group.arn, "priority": INGRESS_PRIORITY}
            ],
            "policy_variables": {
                "rule_variables": [
                    {"key": "HOME_NET", "ip_set": {"definitions": list(plan.home_net)}}
                ]
            },
        },
        tags=tags_for(tags, f"{name}-policy"),
        opts=child,
    )


@dataclass
class CentralizedIngressArgs:
    cidr: str
    az_ids: list[str]
    az_slots: int
    target_cidrs: list[str]  # the serving spokes' CIDRs
    transit_gateway_id: pulumi.Input[str]
    tgw_plan: intent.IngressTgwPlan
    # The hub's TGW route tables by name (intent.TgwPlan names).
    hub_tgw_tables: Mapping[str, pulumi.Input[str]]
    policy_arn: pulumi.Input[str]
    apps: list[ApplicationSpec]
    names: naming.StackNames
    protections: Protections = field(default_factory=Protections)
    logs: LogSettings = field(default_factory=LogSettings)
    tags: dict[str, str] = field(default_factory=dict)
    # What must exist before the attachment: the hub's default TGW tables (see Spoke).
    attach_after: list[pulumi.Resource] = field(default_factory=list)


class CentralizedIngress(pulumi.ComponentResource):
    """The hub's ingress VPC: internet-facing load balancers per application across the AZs,
    a firewall endpoint per AZ between the Internet gateway and them, and a TGW attachment
    to reach the targets in the spokes."""

    def __init__(
        self, name: str, args: CentralizedIngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:CentralizedIngress", name, None, opts)
        self.args = args
        self.plan = intent.centralized_ingress_vpc(args.az_ids, args.target_cidrs)
        labels = {"role": "ingress"}
        built = build_vpc(
            self, name, args.cidr, args.az_ids, args.az_slots, self.plan, args.tags, labels
        )
        firewall, endpoints = build_firewall_in_vpc(
            self, built, args.az_ids, args.policy_arn, args.protections, args.tags
        )
        build_firewall_logging(self, name, firewall, args.logs, args.tags)
        attachment, tgw_ready = self._attachment(name, built)
        targets = local_targets(built, args.az_ids)
        targets[intent.Target("tgw")] = args.transit_gateway_id
        for az in args.az_ids:
            targets[intent.Target("firewall", az)] = endpoints[az]
        build_route_tables(self, built, targets, args.tags, labels, tgw_ready)
        lb_subnets = built.subnet_ids(intent.LB_TIER, args.az_ids)
        # AWS refuses an internet-facing load balancer in a VPC without an Internet gateway
        # (CreateLoadBalancer: InvalidSubnet, "VPC ... has no internet gateway").
        self.load_balancers = build_load_balancers(
            self,
            name,
            built.vpc.id,
            lb_subnets,
            args.apps,
            targets_outside_vpc=True,
            names=args.names,
            tags=args.tags,
            depends_on=[built.igw] if built.igw else [],
        )
        self.vpc = built.vpc
        self.firewall = firewall
        self.attachment = attachment
        self.register_outputs(
            {
                "vpcId": built.vpc.id,
                "firewallArn": firewall.arn,
                "attachmentId": attachment.id,
                "loadBalancers": {
                    k: v.load_balancer.dns_name for k, v in self.load_balancers.items()
                },
            }
        )

    def _attachment(
        self, name: str, built: BuiltVpc
    ) -> tuple[aws.ec2transitgateway.VpcAttachment, list[pulumi.Resource]]:
        """The ingress VPC's TGW attachment, its association and the spokes' route back."""
        args = self.args
        assert built.plan.tgw_tier is not None
        attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-attachment",
            transit_gateway_id=args.transit_gateway_id,
            vpc_id=built.vpc.id,
            subnet_ids=built.subnet_ids(built.plan.tgw_tier, args.az_ids),
            # See intent.IngressTgwPlan for why appliance mode is off here.
            appliance_mode_support="enable" if args.tgw_plan.appliance_mode else "disable",
            dns_support="enable",
            # Not the TGW defaults: the spokes' table would send its traffic to the egress path.
            transit_gateway_default_route_table_association=False,
            transit_gateway_default_route_table_propagation=False,
            tags=tags_for(args.tags, f"{name}-attachment", role="ingress"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.attach_after)),
        )
        after = pulumi.ResourceOptions(parent=self, depends_on=[attachment])
        association = aws.ec2transitgateway.RouteTableAssociation(
            f"{name}-tgw-assoc",
            transit_gateway_attachment_id=attachment.id,
            transit_gateway_route_table_id=args.hub_tgw_tables[args.tgw_plan.associate_with],
            opts=after,
        )
        for table, route in args.tgw_plan.routes:
            dest = route.destination.replace("/", "-").replace(".", "-")
            aws.ec2transitgateway.Route(
                f"{name}-tgw-route-{table}-{dest}",
                transit_gateway_route_table_id=args.hub_tgw_tables[table],
                destination_cidr_block=route.destination,
                transit_gateway_attachment_id=attachment.id,
                opts=after,
            )
        return attachment, [attachment, association]


def build_ingress_firewall(
    parent: pulumi.Resource,
    built: BuiltVpc,
    az_ids: Sequence[str],
    policy_arn: pulumi.Input[str],
    protections: Protections,
    logs: LogSettings,
    tags: Mapping[str, str],
) -> dict[intent.Target, pulumi.Input[str]]:
    """Distributed ingress: the spoke's own ingress firewall; its endpoints as route targets."""
    assert built.plan.ingress_firewall_tier is not None
    firewall, endpoints = build_firewall_in_vpc(
        parent,
        built,
        az_ids,
        policy_arn,
        protections,
        tags,
        tier=built.plan.ingress_firewall_tier,
        name=f"{built.name}-ingress-firewall",
    )
    build_firewall_logging(parent, f"{built.name}-ingress", firewall, logs, tags)
    return {intent.Target("ingress-firewall", az): endpoints[az] for az in az_ids}


@dataclass
class SpokeIngress:
    """Distributed ingress in one spoke: the applications it serves and its firewall's policy."""

    apps: list[ApplicationSpec]
    policy_arn: pulumi.Input[str]
    names: naming.StackNames
    protections: Protections = field(default_factory=Protections)
    logs: LogSettings = field(default_factory=LogSettings)


def plan_with_ingress(
    plan: intent.VpcPlan, az_ids: Sequence[str], ingress: SpokeIngress | None
) -> intent.VpcPlan:
    return intent.with_distributed_ingress(plan, az_ids) if ingress else plan


def build_spoke_ingress(
    parent: pulumi.Resource,
    built: BuiltVpc,
    az_ids: Sequence[str],
    ingress: SpokeIngress,
    tags: Mapping[str, str],
) -> tuple[dict[intent.Target, pulumi.Input[str]], Callable[[], dict[str, BuiltLoadBalancer]]]:
    """The route targets distributed ingress adds (IGW, ingress firewall endpoints), and a
    function that declares the load balancers once the routes exist."""
    targets = local_targets(built, az_ids)
    targets.update(
        build_ingress_firewall(
            parent, built, az_ids, ingress.policy_arn, ingress.protections, ingress.logs, tags
        )
    )

    def load_balancers() -> dict[str, BuiltLoadBalancer]:
        return build_load_balancers(
            parent,
            built.name,
            built.vpc.id,
            built.subnet_ids(intent.LB_TIER, az_ids),
            ingress.apps,
            targets_outside_vpc=False,
            names=ingress.names,
            tags=tags,
            depends_on=[built.igw] if built.igw else [],
        )

    return targets, load_balancers
