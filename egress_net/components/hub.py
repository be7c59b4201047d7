"""``EgressHub``: the hub network of a deployment model — egress VPC, inspection VPC, Network
Firewall, NAT gateways and the Transit Gateway — and the firewall policy every model shares.

Which VPCs and routes exist comes from :func:`egress_net.intent.hub_plan`; this module only
turns the plan into resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from egress_net import intent, naming
from egress_net.components.network import (
    BuiltVpc,
    LogSettings,
    Protections,
    build_firewall_in_vpc,
    build_firewall_logging,
    build_log_bucket,
    build_route_tables,
    build_vpc,
    local_targets,
    tags_for,
    tgw_attachment_of_firewall,
)

__all__ = ["EgressHub", "EgressHubArgs", "FirewallPolicySpec", "Protections"]


class RuleGroupSpecLike(Protocol):
    name: str
    type: str
    capacity: int
    priority: int
    rule_group: dict[str, Any]


class GroupRefLike(Protocol):
    name: str
    arn: Any  # str, or an Output for a group declared elsewhere
    priority: int


class ManagedGroupLike(GroupRefLike, Protocol):
    # DROP_TO_ALERT in alert mode (AWS managed groups only).
    override_action: str | None


@dataclass
class FirewallPolicySpec:
    """What the firewall policy holds, as decided by the rules layer (plain data)."""

    stateful_default_actions: list[str]
    stateful_engine_options: dict[str, Any]
    stateful_groups: Sequence[RuleGroupSpecLike] = ()
    stateless_groups: Sequence[RuleGroupSpecLike] = ()
    managed_groups: Sequence[ManagedGroupLike] = ()
    # Groups declared outside the hub (the Emerging Threats groups), referenced at their
    # priority like the hub's own; ``arn`` may be an Output.
    external_groups: Sequence[GroupRefLike] = ()
    home_net: list[str] = field(default_factory=list)
    # Outbound TLS inspection (plain data for aws.networkfirewall.TlsInspectionConfiguration).
    tls_inspection: dict[str, Any] | None = None
    # Stateless engine hands everything to the stateful engine unless a stateless rule decides.
    stateless_default_actions: list[str] = field(default_factory=lambda: ["aws:forward_to_sfe"])


@dataclass
class EgressHubArgs:
    az_ids: list[str]
    az_slots: int
    spoke_supernets: list[str]
    policy: FirewallPolicySpec
    model: str = "egress-only"
    placement: intent.Placement = "before-nat"
    single_tgw_table: bool = False
    block_spoke_to_spoke: bool = False
    egress_vpc_cidr: str | None = None
    inspection_vpc_cidr: str | None = None
    share_principals: list[str] = field(default_factory=list)
    auto_accept: bool = False
    amazon_side_asn: int = 64512
    # The TGW (and its route tables and RAM share) in another account, e.g. a network
    # account, through this role; the hub's VPCs and firewall stay in the stack's account.
    tgw_owner_role_arn: str | None = None
    region: str | None = None
    protections: Protections = field(default_factory=Protections)
    logs: LogSettings = field(default_factory=LogSettings)
    tags: dict[str, str] = field(default_factory=dict)
    # Physical names (rule groups, RAM share); the running stack's when None.
    names: naming.StackNames | None = None
    # "static": replies reach only the declared spokes (name, cidr), through a route each
    # (see intent.with_static_return_routes); "propagated": every attachment's CIDR.
    return_routes: intent.ReturnRoutes = "propagated"
    return_spokes: list[tuple[str, str]] = field(default_factory=list)


class EgressHub(pulumi.ComponentResource):
    # Attributes are annotated where they are set, not on the class: the component provider
    # (egress_net/component_provider.py) infers the package schema from class annotations.

    def __init__(
        self, name: str, args: EgressHubArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:EgressHub", name, None, opts)
        self.args = args
        self._logical = name
        self.names = args.names or naming.of_current_stack()
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        az_ids = list(args.az_ids)
        self.plan = intent.hub_plan(
            args.model,
            args.placement,
            az_ids,
            args.spoke_supernets,
            args.single_tgw_table,
            args.block_spoke_to_spoke,
        )
        if args.return_routes == "static" and self.plan.tgw is not None:
            self.plan = replace(
                self.plan,
                tgw=intent.with_static_return_routes(self.plan.tgw, args.return_spokes),
            )
        self.policy = self._firewall_policy(name, args.policy, tags, child)
        # One log destination for every firewall of the stack (distributed spokes included).
        self.logs = args.logs
        if args.logs.destination == "s3" and args.logs.bucket_name is None:
            bucket = build_log_bucket(self, name, args.logs, tags)
            self.logs = replace(args.logs, bucket_name=bucket.bucket)
        self.firewalls: dict[str, aws.networkfirewall.Firewall] = {}
        self.endpoint_ids: dict[str, pulumi.Output[str]] = {}
        # Resources a spoke attachment must wait for; filled as they are declared.
        self.attachment_prerequisites: list[pulumi.Resource] = []
        self.tgw: aws.ec2transitgateway.TransitGateway | None = None
        self.tgw_route_tables: dict[str, aws.ec2transitgateway.RouteTable] = {}
        self.ram_share: aws.ram.ResourceShare | None = None

        # --- VPCs of the hub ------------------------------------------------------------------
        cidrs = {"egress": args.egress_vpc_cidr, "inspection": args.inspection_vpc_cidr}
        self.vpcs: dict[str, BuiltVpc] = {}
        for key, vpc_plan in self.plan.vpcs.items():
            cidr = cidrs[key]
            assert cidr is not None, f"{key} VPC CIDR is validated by config"
            vpc_name = name if key == "egress" else f"{name}-{key}"
            built = build_vpc(
                self, vpc_name, cidr, az_ids, args.az_slots, vpc_plan, tags, {"role": key}
            )
            self.vpcs[key] = built
            if vpc_plan.firewall_tier:
                firewall, endpoints = build_firewall_in_vpc(
                    self, built, az_ids, self.policy.arn, args.protections, tags
                )
                self.firewalls[key] = firewall
                self.endpoint_ids.update(endpoints)
                build_firewall_logging(self, vpc_name, firewall, self.logs, tags)

        # --- Transit Gateway --------------------------------------------------------------------
        attachments: dict[str, pulumi.Input[str]] = {}
        vpc_attachments: dict[str, aws.ec2transitgateway.VpcAttachment] = {}
        accepters: dict[str, pulumi.Resource] = {}
        self.tgw_provider: aws.Provider | None = None
        # Acceptances the TGW owner must give before attachments are associated.
        self._accepted: list[pulumi.Resource] = []
        tgw_child = child
        if self.plan.tgw is not None and args.tgw_owner_role_arn:
            self.tgw_provider = aws.Provider(
                f"{name}-tgw-owner",
                region=args.region,
                assume_roles=[
                    aws.ProviderAssumeRoleArgs(
                        role_arn=args.tgw_owner_role_arn, session_name="egress-net"
                    )
                ],
                opts=child,
            )
            tgw_child = pulumi.ResourceOptions(parent=self, provider=self.tgw_provider)
        self._tgw_child = tgw_child
        if self.plan.tgw is not None:
            self.tgw = aws.ec2transitgateway.TransitGateway(
                f"{name}-tgw",
                description=f"egress-net {name} ({args.model}): spoke traffic is inspected",
                amazon_side_asn=args.amazon_side_asn,
                auto_accept_shared_attachments="enable" if args.auto_accept else "disable",
                default_route_table_association="enable",
                # Off with static return routes: no attachment's CIDR enters a table unasked.
                # Disabling is an in-place change; enabling again replaces the TGW
                # (terraform-provider-aws resource_aws_ec2_transit_gateway.go, ForceNewIfChange
                # on default_route_table_propagation from disable to enable).
                default_route_table_propagation=(
                    "enable" if self.plan.tgw.propagates_by_default else "disable"
                ),
                dns_support="enable",
                tags=tags_for(tags, f"{name}-tgw"),
                opts=tgw_child,
            )
            # Shared first: with the TGW in another account, the hub's own VPCs attach
            # through the share too. Then the tables, so attachments find their defaults.
            self.ram_share = self._share(name, args, tags, tgw_child)
            self._tgw_tables(name, self.plan.tgw, tags)
            for key, built in self.vpcs.items():
                vpc_attachments[key] = self._hub_attachment(name, key, built, az_ids, tags)
                attachments[key] = vpc_attachments[key].id
                accepter = self._accept_vpc_attachment(name, key, vpc_attachments[key], args)
                if accepter is not None:
                    accepters[key] = accepter
            if self.plan.tgw_attached_firewall:
                # AWS creates a TGW-attached firewall only in AZs where the TGW is already
                # present: after the hub's attachments (and their acceptance) in every AZ.
                tgw_in_azs = [*vpc_attachments.values(), *accepters.values()]
                firewall = self._tgw_attached_firewall(name, az_ids, args, tags, tgw_in_azs)
                attachments["firewall"] = firewall.firewall_statuses.apply(
                    tgw_attachment_of_firewall
                )
                if self.tgw_provider is not None and not args.auto_accept:
                    # The firewall's own attachment, too, waits for the TGW owner.
                    self._accepted.append(
                        aws.networkfirewall.FirewallTransitGatewayAttachmentAccepter(
                            f"{name}-firewall-attachment-accepter",
                            transit_gateway_attachment_id=attachments["firewall"],
                            opts=tgw_child,
                        )
                    )
            self._tgw_associations_and_routes(name, self.plan.tgw, attachments)

        # --- VPC route tables, per AZ, from the plan ---------------------------------------------
        for key, built in self.vpcs.items():
            targets = local_targets(built, az_ids)
            if self.tgw is not None:
                targets[intent.Target("tgw")] = self.tgw.id
            if key in self.firewalls:
                for az in az_ids:
                    targets[intent.Target("firewall", az)] = self.endpoint_ids[az]
            # Routes to the TGW are only accepted once the VPC is attached (and accepted).
            depends = [vpc_attachments[key]] if key in vpc_attachments else []
            depends += [accepters[key]] if key in accepters else []
            build_route_tables(self, built, targets, tags, {"role": key}, depends)

        self.register_outputs(
            {
                "vpcIds": {k: v.vpc.id for k, v in self.vpcs.items()},
                "transitGatewayId": self.tgw.id if self.tgw else None,
                "firewallArns": {k: f.arn for k, f in self.firewalls.items()},
                "policyArn": self.policy.arn,
                "endpointIds": self.endpoint_ids,
                "tgwRouteTableIds": {k: v.id for k, v in self.tgw_route_tables.items()},
            }
        )

    # -----------------------------------------------------------------------------------------

    def _hub_attachment(
        self, name: str, key: str, built: BuiltVpc, az_ids: list[str], tags: dict[str, str]
    ) -> aws.ec2transitgateway.VpcAttachment:
        assert self.tgw is not None and self.plan.tgw is not None and built.plan.tgw_tier
        return aws.ec2transitgateway.VpcAttachment(
            f"{name}-{key}-attachment",
            transit_gateway_id=self.tgw.id,
            vpc_id=built.vpc.id,
            subnet_ids=built.subnet_ids(built.plan.tgw_tier, az_ids),
            # Appliance mode keeps both directions of a flow on one AZ's firewall endpoint,
            # also when source and destination use different AZs.
            appliance_mode_support="enable" if key in self.plan.tgw.appliance_mode else "disable",
            dns_support="enable",
            **self._default_table_flags(key),
            tags=tags_for(tags, f"{name}-{key}-attachment", role=key),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.attachment_prerequisites),
        )

    def _default_table_flags(self, key: str) -> dict[str, bool]:
        """The default tables only where the plan puts this attachment in them; other tables
        are associated explicitly. For a TGW in another account the attachment leaves them
        unset: the provider neither applies nor reads them for a shared TGW (a diff on every
        `up`), and the owner's accepter carries them (terraform-provider-aws
        ``transitgateway_vpc_attachment.go``)."""
        if self.tgw_provider is not None:
            return {}
        return {
            "transit_gateway_default_route_table_association": self._uses_default(key, "associate"),
            "transit_gateway_default_route_table_propagation": self._uses_default(key, "propagate"),
        }

    def _accept_vpc_attachment(
        self,
        name: str,
        key: str,
        attachment: aws.ec2transitgateway.VpcAttachment,
        args: EgressHubArgs,
    ) -> pulumi.Resource | None:
        """With the TGW in another account, its owner accepts the hub's own attachments (for a
        shared TGW the accepter, not the attachment, decides the default tables)."""
        if self.tgw_provider is None:
            return None
        accepter = aws.ec2transitgateway.VpcAttachmentAccepter(
            f"{name}-{key}-attachment-accepter",
            transit_gateway_attachment_id=attachment.id,
            transit_gateway_default_route_table_association=self._uses_default(key, "associate"),
            transit_gateway_default_route_table_propagation=self._uses_default(key, "propagate"),
            opts=self._tgw_child,
        )
        self._accepted.append(accepter)
        return accepter

    def _tgw_attached_firewall(
        self,
        name: str,
        az_ids: list[str],
        args: EgressHubArgs,
        tags: dict[str, str],
        tgw_in_azs: list[pulumi.Resource],
    ) -> aws.networkfirewall.Firewall:
        """Network Firewall attached natively to the TGW: no inspection VPC, one endpoint per AZ
        ID managed by AWS, appliance mode implied.

        "A transit gateway-attached firewall must be configured in the same Availability Zone
        where the shared transit gateway is already enabled" (Network Firewall Developer Guide,
        Considerations for transit gateway-attached firewalls): ``tgw_in_azs`` are the
        attachments that put the TGW in each of ``az_ids``."""
        assert self.tgw is not None
        firewall = aws.networkfirewall.Firewall(
            f"{name}-firewall",
            transit_gateway_id=self.tgw.id,
            availability_zone_mappings=[{"availability_zone_id": az} for az in az_ids],
            firewall_policy_arn=self.policy.arn,
            delete_protection=args.protections.delete,
            firewall_policy_change_protection=args.protections.policy_change,
            availability_zone_change_protection=args.protections.subnet_change,
            tags=tags_for(tags, f"{name}-firewall"),
            # With the TGW in another account, it is visible here only once shared.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self.attachment_prerequisites, *tgw_in_azs]
            ),
        )
        self.firewalls["tgw"] = firewall
        build_firewall_logging(self, name, firewall, self.logs, tags)
        return firewall

    def _firewall_policy(
        self,
        name: str,
        spec: FirewallPolicySpec,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.networkfirewall.FirewallPolicy:
        def groups(specs: Sequence[RuleGroupSpecLike]) -> list[dict[str, Any]]:
            refs = []
            for group in specs:
                # Capacity is immutable: a group that must grow gets a new name (the rules
                # layer puts the capacity in it), so Pulumi creates the new group, switches the
                # policy to it, and only then deletes the old one (create-before-replace).
                # Names are unique per account and region: the stack is in the name.
                rg = aws.networkfirewall.RuleGroup(
                    f"{name}-rg-{group.name}",
                    name=self.names.rule_group(group.name),
                    type=group.type,
                    capacity=group.capacity,
                    rule_group=group.rule_group,
                    tags=tags_for(tags, group.name),
                    opts=child,
                )
                refs.append({"resource_arn": rg.arn, "priority": group.priority})
            return refs

        stateful_refs = groups(spec.stateful_groups)
        for managed in spec.managed_groups:
            ref: dict[str, Any] = {"resource_arn": managed.arn, "priority": managed.priority}
            if managed.override_action:
                ref["override"] = {"action": managed.override_action}
            stateful_refs.append(ref)
        stateful_refs += [
            {"resource_arn": m.arn, "priority": m.priority} for m in spec.external_groups
        ]
        stateless_refs = groups(spec.stateless_groups)
        # Every rule group and TLS configuration the policy references: whoever updates the
        # policy (the ET sync) needs UpdateFirewallPolicy on each of them too.
        self.policy_references: list[pulumi.Input[str]] = [
            r["resource_arn"] for r in stateful_refs + stateless_refs
        ]
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
        if spec.tls_inspection is not None:
            tls = aws.networkfirewall.TlsInspectionConfiguration(
                f"{name}-tls-inspection",
                tls_inspection_configuration=spec.tls_inspection,
                description="Outbound TLS inspection of spoke traffic",
                tags=tags_for(tags, f"{name}-tls-inspection"),
                opts=child,
            )
            policy["tls_inspection_configuration_arn"] = tls.arn
            self.policy_references.append(tls.arn)
        return aws.networkfirewall.FirewallPolicy(
            f"{name}-policy",
            firewall_policy=policy,
            tags=tags_for(tags, f"{name}-policy"),
            # AWS accepts a TLS inspection configuration only when a policy is created.
            opts=pulumi.ResourceOptions(
                parent=self,
                replace_on_changes=["firewallPolicy.tlsInspectionConfigurationArn"],
            ),
        )

    def _tgw_tables(self, name: str, plan: intent.TgwPlan, tags: dict[str, str]) -> None:
        """The TGW route tables and which of them new attachments use by default. Declared
        before any attachment, so no attachment lands in the TGW's original default table."""
        assert self.tgw is not None
        child = self._tgw_child
        # Each default-table setting is a ModifyTransitGateway call, refused while another
        # one is in progress (the TGW is "modifying"): one after the other.
        modifies: list[pulumi.Resource] = []

        def after_previous() -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, provider=self.tgw_provider, depends_on=modifies[-1:]
            )

        for spec in plan.tables:
            table = aws.ec2transitgateway.RouteTable(
                f"{name}-tgw-rt-{spec.name}",
                transit_gateway_id=self.tgw.id,
                tags=tags_for(tags, f"{name}-tgw-rt-{spec.name}", tgw_table=spec.name),
                opts=child,
            )
            self.tgw_route_tables[spec.name] = table
            if "new-attachments" in spec.associate:
                modifies.append(
                    aws.ec2transitgateway.DefaultRouteTableAssociation(
                        f"{name}-tgw-default-association",
                        transit_gateway_id=self.tgw.id,
                        transit_gateway_route_table_id=table.id,
                        opts=after_previous(),
                    )
                )
            if "new-attachments" in spec.propagate:
                modifies.append(
                    aws.ec2transitgateway.DefaultRouteTablePropagation(
                        f"{name}-tgw-default-propagation",
                        transit_gateway_id=self.tgw.id,
                        transit_gateway_route_table_id=table.id,
                        opts=after_previous(),
                    )
                )
        self.attachment_prerequisites += modifies

    def _tgw_associations_and_routes(
        self,
        name: str,
        plan: intent.TgwPlan,
        attachments: dict[str, pulumi.Input[str]],
    ) -> None:
        """Explicit associations, propagations and static routes, once attachments exist and
        are accepted. A hub attachment whose table is the default one gets it through the
        TGW default instead (declaring both makes the provider fight itself)."""
        after_acceptance = pulumi.ResourceOptions(
            parent=self, provider=self.tgw_provider, depends_on=self._accepted
        )
        for spec in plan.tables:
            table = self.tgw_route_tables[spec.name]
            for who in self._explicit(spec.associate):
                aws.ec2transitgateway.RouteTableAssociation(
                    f"{name}-tgw-assoc-{who}-{spec.name}",
                    transit_gateway_attachment_id=attachments[who],
                    transit_gateway_route_table_id=table.id,
                    # AWS may already have put the attachment in the default table (a
                    # firewall's own attachment, or any attachment to a shared TGW).
                    replace_existing_association=True,
                    opts=after_acceptance,
                )
            for who in self._explicit(spec.propagate):
                aws.ec2transitgateway.RouteTablePropagation(
                    f"{name}-tgw-prop-{who}-{spec.name}",
                    transit_gateway_attachment_id=attachments[who],
                    transit_gateway_route_table_id=table.id,
                    opts=after_acceptance,
                )
            for route in spec.routes:
                if intent.spoke_of(route.attachment) is not None:
                    continue  # declared with the spoke's attachment (connect_spoke)
                dest = route.destination.replace("/", "-").replace(".", "-")
                aws.ec2transitgateway.Route(
                    f"{name}-tgw-route-{spec.name}-{dest}",
                    transit_gateway_route_table_id=table.id,
                    destination_cidr_block=route.destination,
                    transit_gateway_attachment_id=attachments.get(route.attachment),
                    blackhole=route.attachment == "blackhole" or None,
                    opts=after_acceptance,
                )

    def connect_spoke(
        self,
        spoke: str,
        attachment_id: pulumi.Input[str],
        after: Sequence[pulumi.Resource] = (),
    ) -> list[aws.ec2transitgateway.Route]:
        """The plan's static return routes to one declared spoke, once its attachment exists
        and is accepted (a TGW route to a pending attachment is refused)."""
        if self.plan.tgw is None:
            return []
        routes = []
        opts = pulumi.ResourceOptions(
            parent=self, provider=self.tgw_provider, depends_on=[*self._accepted, *after]
        )
        for spec in self.plan.tgw.tables:
            for route in spec.routes:
                if intent.spoke_of(route.attachment) != spoke:
                    continue
                dest = route.destination.replace("/", "-").replace(".", "-")
                routes.append(
                    aws.ec2transitgateway.Route(
                        f"{self._logical}-tgw-route-{spec.name}-{spoke}-{dest}",
                        transit_gateway_route_table_id=self.tgw_route_tables[spec.name].id,
                        destination_cidr_block=route.destination,
                        transit_gateway_attachment_id=attachment_id,
                        opts=opts,
                    )
                )
        return routes

    def _explicit(self, members: tuple[str, ...]) -> list[str]:
        """The attachments of a table's associate/propagate list that need a resource of their
        own: not the TGW default itself, nor a hub VPC that gets this table by that default."""
        by_default = "new-attachments" in members
        return [
            who
            for who in members
            if who != "new-attachments" and not (by_default and who in self.vpcs)
        ]

    def _uses_default(self, key: str, role: str) -> bool:
        """Whether a hub attachment's table is the TGW default ("associate"/"propagate")."""
        assert self.plan.tgw is not None
        for spec in self.plan.tgw.tables:
            members = spec.associate if role == "associate" else spec.propagate
            if "new-attachments" in members and key in members:
                return True
        return False

    def _share(
        self, name: str, args: EgressHubArgs, tags: dict[str, str], opts: pulumi.ResourceOptions
    ) -> aws.ram.ResourceShare | None:
        principals: list[tuple[str, pulumi.Input[str]]] = [
            (p.rsplit("/", 1)[-1], p) for p in args.share_principals
        ]
        if self.tgw_provider is not None:
            # The TGW lives in another account: share it back to this one for the hub's VPCs.
            principals.append(("hub-account", aws.get_caller_identity_output().account_id))
        if not principals or self.tgw is None:
            return None
        share = aws.ram.ResourceShare(
            f"{name}-tgw-share",
            name=self.names.ram_share(f"{name}-tgw-share"),
            allow_external_principals=False,  # only principals inside the organization
            tags=tags_for(tags, f"{name}-tgw-share"),
            opts=opts,
        )
        # Attachments from other accounts need the TGW in the share, not only the principals.
        self.attachment_prerequisites.append(
            aws.ram.ResourceAssociation(
                f"{name}-tgw-share-tgw",
                resource_arn=self.tgw.arn,
                resource_share_arn=share.arn,
                opts=opts,
            )
        )
        for label, principal in principals:
            self.attachment_prerequisites.append(
                aws.ram.PrincipalAssociation(
                    f"{name}-tgw-share-{label}",
                    principal=principal,
                    resource_share_arn=share.arn,
                    opts=opts,
                )
            )
        return share

    def route_table_for(self, role: str) -> aws.ec2transitgateway.RouteTable | None:
        """The TGW table new attachments are associated with ("associate") or propagate into
        ("propagate")."""
        if self.plan.tgw is None:
            return None
        for spec in self.plan.tgw.tables:
            members = spec.associate if role == "associate" else spec.propagate
            if "new-attachments" in members:
                return self.tgw_route_tables[spec.name]
        if role == "propagate" and self.plan.tgw.static_return_table:
            # Static return routes: the table replies return through, spoke routes in it.
            return self.tgw_route_tables[self.plan.tgw.static_return_table]
        return None
