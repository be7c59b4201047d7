"""``DnsFirewall``: Route 53 Resolver DNS Firewall for the spokes' DNS queries.

A spoke resolves names through its VPC's own resolver (the VPC base address + 2), which
answers without the query ever crossing the Transit Gateway: the Network Firewall never sees
it, so a name it would refuse still resolves, and DNS tunnelling carries data out in query
names. DNS Firewall filters those queries where they are answered, with the rules of
:mod:`egress_net.dns_plan`.

The hub stack declares the rule group, its domain lists, the query log configuration and a RAM
share of both; every spoke VPC gets an association, a fail-open/closed setting and a query log
association (:func:`protect_vpc`), declared by the hub for the spokes it deploys and by each
spoke stack for its own VPC, with the IDs the hub exports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from egress_net import dns_plan, naming
from egress_net.components.network import LogSettings, tags_for

# Route 53 Resolver names: 1-64 characters (API: CreateFirewallRuleGroup Name, Length
# Constraints 0-64; CreateResolverQueryLogConfig Name 1-64).
_NAME_MAX = 64


@dataclass
class DnsFirewallArgs:
    rules: list[dns_plan.DnsRule]
    # Query logs go to the stack's log destination (a log group of their own, or the bucket);
    # None: no query logs.
    logs: LogSettings | None
    # RAM principals (accounts, OU or organization ARNs) the rule group and query log
    # configuration are shared with, so spoke accounts can associate their VPCs.
    share_principals: Sequence[str] = ()
    names: naming.StackNames | None = None
    tags: dict[str, str] = field(default_factory=dict)


class DnsFirewall(pulumi.ComponentResource):
    rule_group: aws.route53.ResolverFirewallRuleGroup
    query_log_config: aws.route53.ResolverQueryLogConfig | None
    share: aws.ram.ResourceShare | None
    # What an association in another account must wait for (the share and its principals).
    shared: list[pulumi.Resource]

    def __init__(
        self, name: str, args: DnsFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("egress-net:index:DnsFirewall", name, None, opts)
        self.names = args.names or naming.of_current_stack()
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.rule_group = aws.route53.ResolverFirewallRuleGroup(
            f"{name}-rules",
            name=self._physical(f"{name}-rules"),
            tags=tags_for(tags, f"{name}-rules"),
            opts=child,
        )
        self.rules = [self._rule(name, rule, tags) for rule in args.rules]
        self.query_log_config = None
        if args.logs is not None:
            self.query_log_config = aws.route53.ResolverQueryLogConfig(
                f"{name}-query-logs",
                name=self._physical(f"{name}-query-logs"),
                destination_arn=self._log_destination(name, args.logs, tags),
                tags=tags_for(tags, f"{name}-query-logs"),
                opts=child,
            )
        self.shared = []
        self.share = self._share(name, list(args.share_principals), tags)
        self.register_outputs(
            {
                "ruleGroupId": self.rule_group.id,
                "ruleGroupArn": self.rule_group.arn,
                "queryLogConfigId": self.query_log_config.id if self.query_log_config else None,
            }
        )

    def _log_destination(
        self, name: str, logs: LogSettings, tags: dict[str, str]
    ) -> pulumi.Input[str]:
        """A log group beside the firewall's, or the stack's log bucket. Resolver query logging
        takes the log group's or bucket's ARN, optionally with a key prefix ending in ``/``
        (API: CreateResolverQueryLogConfig DestinationArn), and writes under
        ``<prefix>AWSLogs/<owner account>/vpcdnsquerylogs/``. The prefix is the stack's, like
        the firewall's own log prefixes, so the delivery grant of the stack's bucket
        (``<prefix>/*/AWSLogs/<account>/*``, ``network.log_delivery_statements``) covers it."""
        if logs.destination == "s3":
            assert logs.bucket_name is not None
            partition = aws.get_partition_output().partition
            key_prefix = f"{logs.prefix.strip('/')}/{name}/queries/"
            return pulumi.Output.concat(
                "arn:", partition, ":s3:::", logs.bucket_name, "/", key_prefix
            )
        group = aws.cloudwatch.LogGroup(
            f"{name}-query-logs",
            name=f"{logs.prefix}/{name}/queries",
            retention_in_days=logs.retention_days,
            kms_key_id=logs.kms_key_arn,
            tags=tags_for(tags, f"{name}-query-logs"),
            # Kept on `pulumi destroy` like the firewall's own log groups.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=logs.retain_on_delete),
        )
        return group.arn

    def _physical(self, purpose: str) -> str:
        return naming.fit(f"{self.names.token}-{purpose}", _NAME_MAX)

    def _rule(
        self, name: str, rule: dns_plan.DnsRule, tags: dict[str, str]
    ) -> aws.route53.ResolverFirewallRule:
        child = pulumi.ResourceOptions(parent=self)
        list_id: pulumi.Input[str]
        if rule.managed_list_id is not None:
            list_id = rule.managed_list_id
        else:
            domain_list = aws.route53.ResolverFirewallDomainList(
                f"{name}-{rule.name}",
                name=self._physical(f"{name}-{rule.name}"),
                domains=list(rule.domains),
                tags=tags_for(tags, f"{name}-{rule.name}"),
                opts=child,
            )
            list_id = domain_list.id
        return aws.route53.ResolverFirewallRule(
            f"{name}-rule-{rule.name}",
            name=self._physical(f"{name}-{rule.name}"),
            firewall_rule_group_id=self.rule_group.id,
            firewall_domain_list_id=list_id,
            action=rule.action,
            block_response=rule.block_response,
            firewall_domain_redirection_action=rule.redirection,
            priority=rule.priority,
            # A new domain list (or managed list ID) replaces the rule (the provider forces a
            # new one); created first, it would take the priority the old rule still holds,
            # which AWS refuses (priorities are unique within a rule group).
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

    def _share(
        self, name: str, principals: list[str], tags: dict[str, str]
    ) -> aws.ram.ResourceShare | None:
        """Shared with the TGW's principals, inside the organization only."""
        if not principals:
            return None
        child = pulumi.ResourceOptions(parent=self)
        share = aws.ram.ResourceShare(
            f"{name}-share",
            name=self.names.ram_share(f"{name}-share"),
            allow_external_principals=False,
            tags=tags_for(tags, f"{name}-share"),
            opts=child,
        )
        shared: list[tuple[str, pulumi.Input[str]]] = [("rules", self.rule_group.arn)]
        if self.query_log_config is not None:
            shared.append(("query-logs", self.query_log_config.arn))
        for label, arn in shared:
            self.shared.append(
                aws.ram.ResourceAssociation(
                    f"{name}-share-{label}",
                    resource_arn=arn,
                    resource_share_arn=share.arn,
                    opts=child,
                )
            )
        for principal in principals:
            self.shared.append(
                aws.ram.PrincipalAssociation(
                    f"{name}-share-{principal.rsplit('/', 1)[-1]}",
                    principal=principal,
                    resource_share_arn=share.arn,
                    opts=child,
                )
            )
        return share


@dataclass
class VpcProtection:
    """What one VPC needs to have its queries filtered and logged (IDs the hub exports)."""

    rule_group_id: pulumi.Input[str]
    query_log_config_id: pulumi.Input[str] | None
    priority: int
    fail_open: bool
    # Mutation protection: the association cannot be changed or removed until it is turned off.
    protected: bool = True
    after: Sequence[pulumi.Resource] = ()


def protect_vpc(
    parent: pulumi.Resource,
    name: str,
    vpc_id: pulumi.Input[str],
    protection: VpcProtection,
    tags: Mapping[str, str],
) -> aws.route53.ResolverFirewallRuleGroupAssociation:
    """Associates the rule group with a VPC, sets fail-open/closed and logs its queries. As
    children of ``parent``, these take its provider: a spoke in another account associates
    its VPC there, with the group shared to it."""
    opts = pulumi.ResourceOptions(parent=parent, depends_on=list(protection.after))
    association = aws.route53.ResolverFirewallRuleGroupAssociation(
        f"{name}-dns-firewall",
        name=naming.fit(f"{name}-dns-firewall", _NAME_MAX),
        firewall_rule_group_id=protection.rule_group_id,
        vpc_id=vpc_id,
        priority=protection.priority,
        mutation_protection="ENABLED" if protection.protected else "DISABLED",
        tags=tags_for(tags, f"{name}-dns-firewall"),
        opts=opts,
    )
    aws.route53.ResolverFirewallConfig(
        f"{name}-dns-firewall-config",
        resource_id=vpc_id,
        firewall_fail_open="ENABLED" if protection.fail_open else "DISABLED",
        opts=opts,
    )
    if protection.query_log_config_id is not None:
        aws.route53.ResolverQueryLogConfigAssociation(
            f"{name}-dns-query-logs",
            resolver_query_log_config_id=protection.query_log_config_id,
            resource_id=vpc_id,
            opts=opts,
        )
    return association
