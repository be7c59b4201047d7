"""The Pulumi program: read config → build components → export the stack-output contract.

``__main__.py`` calls :func:`main`. Config is validated completely before the first resource
is declared, so a mistake never leaves anything half-made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.sync_await import _sync_await

from egress_net import addressing, config, dns_plan, intent, naming
from egress_net.components.dns_firewall import (
    DnsFirewall,
    DnsFirewallArgs,
    VpcProtection,
    protect_vpc,
)
from egress_net.components.et_sync import (
    EmergingThreatsGroups,
    EmergingThreatsGroupsArgs,
    EmergingThreatsSync,
    EmergingThreatsSyncArgs,
)
from egress_net.components.hub import EgressHub, EgressHubArgs, FirewallPolicySpec, Protections
from egress_net.components.ingress import (
    ApplicationSpec,
    CentralizedIngress,
    CentralizedIngressArgs,
    SpokeIngress,
    build_ingress_policy,
)
from egress_net.components.network import LogSettings
from egress_net.components.spoke import DistributedSpoke, DistributedSpokeArgs, Spoke, SpokeArgs
from egress_net.errors import ConfigErrors, EgressNetError
from egress_net.rules.ingress import InboundApp, load_balancer_sources, plan_ingress_policy
from egress_net.rules.policy import ScopedAllow, plan_policy
from egress_net.rules.split import policy_problems
from egress_net.rules.variables import rule_variables_for


class ProgramError(pulumi.RunError):
    """A user error, reported by Pulumi as a clean message without a traceback."""

    def __init__(self, error: EgressNetError) -> None:
        super().__init__(str(error))
        self.error = error


def all_config() -> dict[str, Any]:
    """Every config value of the stack, namespaced (``egress-net:spokes``, ``aws:region``)."""
    values: dict[str, Any] = dict(pulumi_config.get_config_env())
    values.update(pulumi_config.CONFIG.get())
    return values


def main() -> None:
    try:
        cfg = config.validate(config.from_pulumi_config(all_config()))
        check_account(cfg)
        outputs = build_hub_stack(cfg) if cfg.role == "hub" else build_spoke_stack(cfg)
    except EgressNetError as err:
        raise ProgramError(err) from err
    for name, value in outputs.items():
        pulumi.export(name, value)


def check_account(cfg: config.StackConfig) -> None:
    """Refuse to deploy with credentials for another account than the stack names."""
    if cfg.account_id is None:
        return
    actual = aws.get_caller_identity().account_id
    if actual != cfg.account_id:
        raise ConfigErrors(
            [
                config.ConfigError(
                    config.key("accountId"),
                    f"the credentials in use are for account {actual}, but this stack deploys "
                    f"into {cfg.account_id}",
                    "switch to credentials (or a profile) for that account",
                )
            ]
        )


# ---------------------------------------------------------------------------------------------
# role: hub


def policy_spec(cfg: config.StackConfig, project_dir: Path) -> FirewallPolicySpec:
    """The firewall policy from the rules layer: validated rule groups in strict order.

    Drop mode denies whatever no rule passes; alert mode passes it and logs an alert, so a
    first rollout shows what the allowlist would block without blocking it.
    """
    rules = cfg.rules
    external = external_net(cfg)
    if external:
        rules = rules.model_copy(update={"ip_sets": {**rules.ip_sets, "EXTERNAL_NET": external}})
    plan = plan_policy(
        rules,
        home_net=home_net(cfg),
        base_dir=project_dir,
        mode=cfg.firewall.mode,
        firewall_sees_nat_only=cfg.placement == "after-nat",
        region=cfg.region,
        scoped_allow=[
            ScopedAllow(spoke.name, spoke.cidr, tuple(spoke.allow_domains))
            for spoke in cfg.spokes
            if spoke.allow_domains
        ],
        # Where spoke-to-spoke traffic is open by design it never reaches the firewall.
        deny_tcp_between_spokes=cfg.spoke_to_spoke_intent != "open",
    )
    return FirewallPolicySpec(
        stateful_default_actions=plan.stateful_default_actions,
        stateful_engine_options=plan.stateful_engine_options,
        stateful_groups=plan.stateful_groups,
        stateless_groups=plan.stateless_groups,
        managed_groups=plan.managed_groups,
        home_net=home_net(cfg),
        stateless_default_actions=plan.stateless_default_actions,
        tls_inspection=tls_inspection_spec(cfg),
    )


def external_net(cfg: config.StackConfig) -> list[str]:
    """EXTERNAL_NET to write into every rule group, or [] to let Network Firewall derive it.

    A firewall attached to a TGW has no VPC CIDR to fall back on: AWS requires HOME_NET and
    EXTERNAL_NET to be set explicitly in the rule groups (the ET groups included).
    """
    return rule_variables_for(cfg.model, home_net(cfg)).get("EXTERNAL_NET", [])


def tls_inspection_spec(cfg: config.StackConfig) -> dict[str, Any] | None:
    """Outbound TLS inspection of the spokes' traffic to the configured ports."""
    tls = cfg.firewall.tls_inspection
    if tls is None:
        return None
    return {
        "server_certificate_configuration": {
            "certificate_authority_arn": tls.certificate_authority_arn,
            "check_certificate_revocation_status": {
                "revoked_status_action": tls.revoked_status_action,
                "unknown_status_action": tls.unknown_status_action,
            },
            "scopes": [
                {
                    "protocols": [6],
                    "sources": [{"address_definition": net} for net in home_net(cfg)],
                    "destinations": [{"address_definition": "0.0.0.0/0"}],
                    "source_ports": [{"from_port": 0, "to_port": 65535}],
                    "destination_ports": [{"from_port": p, "to_port": p} for p in tls.ports],
                }
            ],
        }
    }


def project_dir() -> Path:
    """Where relative paths in the config (rule files) start: the Pulumi project folder."""
    root = pulumi_settings.get_root_directory()
    return Path(root) if root else Path.cwd()


def home_net(cfg: config.StackConfig) -> list[str]:
    """The addresses the firewall sees as ours. After the NAT gateway it sees NAT addresses:
    the egress VPC's (distributed spokes' NAT subnets are inside the supernets)."""
    nets = list(cfg.spoke_supernets)
    if cfg.placement == "after-nat" and cfg.egress_vpc_cidr:
        nets.append(cfg.egress_vpc_cidr)
    return nets


def stack_tags(cfg: config.StackConfig) -> dict[str, str]:
    """Tags for every resource: the stack's name, then the configured tags."""
    return {"egress-net:stack": pulumi.get_stack(), **cfg.tags}


def hub_policy(
    cfg: config.StackConfig,
    tags: dict[str, str],
    name: str = "hub",
    beside: pulumi.ResourceOptions | None = None,
) -> tuple[FirewallPolicySpec, EmergingThreatsGroups | None]:
    """The hub's firewall policy, with the Emerging Threats groups it references (declared
    first, beside the hub: the policy needs their ARNs). ``beside``: the options the groups
    share with the hub (its parent and providers), so they land in the hub's account and
    region."""
    spec = policy_spec(cfg, project_dir())
    check_emerging_threats_fit(cfg, spec)
    et_groups = _emerging_threats_groups(cfg, tags, name, beside)
    if et_groups is not None:
        spec = replace(spec, external_groups=et_groups.groups)
    return spec, et_groups


def hub_component_args(
    cfg: config.StackConfig,
    tags: dict[str, str],
    policy: FirewallPolicySpec,
    served: list[config.ServedSpoke] | None = None,
) -> EgressHubArgs:
    """What the hub component is given for a validated hub config (the program and the
    library's ``EgressHub`` build it the same way)."""
    names = naming.of_current_stack()
    return EgressHubArgs(
        az_ids=cfg.az_ids,
        az_slots=cfg.slots,
        spoke_supernets=cfg.spoke_supernets,
        policy=policy,
        model=cfg.model,
        placement=cfg.placement,
        single_tgw_table=cfg.transit_gateway.route_tables == "single",
        block_spoke_to_spoke=cfg.spoke_to_spoke_intent == "blocked",
        egress_vpc_cidr=cfg.egress_vpc_cidr,
        inspection_vpc_cidr=cfg.inspection_vpc_cidr,
        share_principals=cfg.share.principals,
        auto_accept=cfg.transit_gateway.auto_accept,
        amazon_side_asn=cfg.transit_gateway.amazon_side_asn,
        tgw_owner_role_arn=cfg.transit_gateway.owner_role_arn,
        region=cfg.region,
        protections=protections_of(cfg),
        logs=LogSettings(
            retention_days=cfg.logs.retention_days,
            prefix=names.path_prefix,
            destination=cfg.logs.destination,
            kms_key_arn=cfg.logs.kms_key_arn,
            bucket_name=cfg.logs.bucket_name,
            tls=cfg.firewall.tls_inspection is not None,
            retain_on_delete=cfg.retain_logs_on_delete,
            region=cfg.region,
        ),
        tags=tags,
        names=names,
        return_routes=cfg.return_routes,
        # Static return routes go to the spokes the hub declares and the stacks it serves.
        return_spokes=[(s.name, s.cidr) for s in cfg.spokes if cfg.spoke_model(s) == "tgw"]
        + [(s.name, s.cidr) for s in served or [] if s.cidr is not None],
    )


def protections_of(cfg: config.StackConfig) -> Protections:
    return Protections(
        delete=cfg.firewall.protections.delete,
        subnet_change=cfg.firewall.protections.subnet_change,
        policy_change=cfg.firewall.protections.policy_change,
    )


def build_hub_stack(cfg: config.StackConfig) -> dict[str, Any]:
    tags = stack_tags(cfg)
    served = read_spoke_stacks(cfg)  # checked before anything is declared
    spec, et_groups = hub_policy(cfg, tags)
    hub = EgressHub("hub", hub_component_args(cfg, tags, spec, served))
    et_sync = emerging_threats_sync(cfg, hub, et_groups, tags)
    dns = dns_firewall(cfg, hub, tags)
    ingress_policy = _ingress_policy(cfg, hub, hub.names, tags)
    spokes = declare_hub_spokes(cfg, hub, tags, ingress_policy=ingress_policy, dns=dns)
    central = _centralized_ingress(cfg, hub, ingress_policy, hub.names, tags)
    spoke_stacks = {s.reference: _serve_spoke_stack(cfg, hub, s, tags) for s in served}
    return hub_outputs(cfg, hub, et_sync, spokes, central, dns=dns, spoke_stacks=spoke_stacks)


def declare_hub_spokes(
    cfg: config.StackConfig,
    hub: EgressHub,
    tags: dict[str, str],
    parent: pulumi.Resource | None = None,
    ingress_policy: aws.networkfirewall.FirewallPolicy | None = None,
    dns: DnsFirewall | None = None,
) -> dict[str, Spoke | DistributedSpoke]:
    """The spokes a hub config lists, each attached to the hub's TGW or with its own firewall
    (model distributed/combined). ``parent``: the stack (the program) or a library component;
    ``ingress_policy``: the inbound policy of spokes that serve public applications."""
    spokes: dict[str, Spoke | DistributedSpoke] = {}
    for spoke_cfg in cfg.spokes:
        if cfg.spoke_model(spoke_cfg) == "distributed":
            spokes[spoke_cfg.name] = DistributedSpoke(
                spoke_cfg.name,
                DistributedSpokeArgs(
                    cidr=spoke_cfg.cidr,
                    az_ids=cfg.spoke_az_ids(spoke_cfg),
                    az_slots=cfg.slots,
                    policy_arn=hub.policy.arn,
                    placement=cfg.placement,
                    protections=protections_of(cfg),
                    logs=hub.logs,
                    tags={**tags, **spoke_cfg.tags},
                    ingress=_spoke_ingress(cfg, spoke_cfg, ingress_policy, hub.names, hub),
                ),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        else:
            assert hub.tgw is not None
            spoke = _declare_spoke(
                cfg,
                spoke_cfg,
                hub.tgw.id,
                tags,
                hub,
                parent,
                _spoke_ingress(cfg, spoke_cfg, ingress_policy, hub.names, hub),
            )
            hub.connect_spoke(spoke_cfg.name, spoke.attachment_id, spoke.connected_after)
            spokes[spoke_cfg.name] = spoke
        if dns is not None:
            # Another account's VPC can use the group once the share reaches it.
            other = spoke_cfg.role_account not in (None, cfg.account_id)
            protect_vpc(
                spokes[spoke_cfg.name],
                spoke_cfg.name,
                spokes[spoke_cfg.name].vpc_id,
                _vpc_protection(cfg, dns, dns.shared if other else []),
                {**tags, **spoke_cfg.tags},
            )
    return spokes


def hub_outputs(
    cfg: config.StackConfig,
    hub: EgressHub,
    et_sync: EmergingThreatsSync | None,
    spokes: Mapping[str, Spoke | DistributedSpoke],
    central_ingress: CentralizedIngress | None = None,
    dns: DnsFirewall | None = None,
    spoke_stacks: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The hub's stack-output contract (see :func:`outputs_contract_keys`)."""
    entries: dict[str, Any] = {}
    served: dict[str, Any] = {}  # application → its load balancer
    for spoke_cfg in cfg.spokes:
        spoke = spokes[spoke_cfg.name]
        served.update(spoke.load_balancers)
        entry: dict[str, Any] = {"cidr": spoke_cfg.cidr, "azIds": cfg.spoke_az_ids(spoke_cfg)}
        if isinstance(spoke, DistributedSpoke):
            entry |= {"model": "distributed", "vpcId": spoke.vpc_id, "attachmentId": None}
        else:
            entry |= {"model": "tgw", "vpcId": spoke.vpc_id, "attachmentId": spoke.attachment_id}
        entries[spoke_cfg.name] = entry

    if central_ingress is not None:
        served.update(central_ingress.load_balancers)
    associate, propagate = hub.route_table_for("associate"), hub.route_table_for("propagate")
    main_firewall = next(iter(hub.firewalls.values()), None)
    return {
        "contractVersion": config.CONTRACT_VERSION,
        "model": cfg.model,
        "placement": cfg.placement,
        "region": cfg.region,
        "transitGatewayId": hub.tgw.id if hub.tgw else None,
        "transitGatewayOwnerId": hub.tgw.owner_id if hub.tgw else None,
        "spokesRouteTableId": associate.id if associate else None,
        "egressRouteTableId": propagate.id if propagate else None,
        "spokeSupernets": cfg.spoke_supernets,
        "azIds": cfg.az_ids,
        "azSlots": cfg.slots,
        "ramShareArn": hub.ram_share.arn if hub.ram_share else None,
        "firewallArn": main_firewall.arn if main_firewall else None,
        "firewallPolicyArn": hub.policy.arn,
        "firewallMode": cfg.firewall.mode,
        "egressVpcId": hub.vpcs["egress"].vpc.id if "egress" in hub.vpcs else None,
        "inspectionVpcId": hub.vpcs["inspection"].vpc.id if "inspection" in hub.vpcs else None,
        "emergingThreatsFunction": et_sync.function_name if et_sync else None,
        "spokes": entries,
        "transitGatewayAutoAccept": cfg.transit_gateway.auto_accept,
        "returnRoutes": cfg.return_routes if hub.tgw else None,
        "spokeStacks": dict(spoke_stacks or {}),
        "dnsFirewall": _dns_contract(cfg, dns),
        "ingress": _ingress_outputs(cfg, central_ingress, served),
    }


# ---------------------------------------------------------------------------------------------
# DNS Firewall


def dns_firewall(
    cfg: config.StackConfig, hub: EgressHub, tags: dict[str, str], name: str = "hub-dns"
) -> DnsFirewall | None:
    """The spokes' DNS queries filtered with the firewall's own allow and deny lists."""
    dns = cfg.dns_firewall
    if not dns.enabled:
        return None
    allow = list(cfg.domain_allowlist) + list(dns.allow_domains)
    for spoke in cfg.spokes:
        # The DNS rule group is one for all spokes: a spoke's own domains resolve everywhere,
        # and the Network Firewall still limits connections to that spoke.
        allow += list(spoke.allow_domains)
    deny = list(cfg.rules.deny_domains.domains) if cfg.rules.deny_domains else []
    rules = dns_plan.plan_dns_rules(
        cfg.firewall.mode,
        allow,
        deny,
        [(m.name, m.id) for m in dns.managed_domain_lists],
        dns.block_response,
    )
    return DnsFirewall(
        name,
        DnsFirewallArgs(
            rules=rules,
            logs=hub.logs if dns.query_logs else None,
            share_principals=cfg.share.principals,
            names=hub.names,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(parent=hub),
    )


def _vpc_protection(
    cfg: config.StackConfig, dns: DnsFirewall, after: list[pulumi.Resource] | None = None
) -> VpcProtection:
    return VpcProtection(
        rule_group_id=dns.rule_group.id,
        query_log_config_id=dns.query_log_config.id if dns.query_log_config else None,
        priority=cfg.dns_firewall.association_priority,
        fail_open=cfg.dns_firewall.fails_open(cfg.firewall.mode),
        protected=cfg.firewall.protections.delete,
        # Not before the group has its rules: an empty group answers every name.
        after=[*dns.rules, *(after or [])],
    )


def _dns_contract(cfg: config.StackConfig, dns: DnsFirewall | None) -> dict[str, Any] | None:
    """What a spoke stack needs to put its VPC under the hub's DNS Firewall."""
    if dns is None:
        return None
    return {
        "ruleGroupId": dns.rule_group.id,
        "ruleGroupArn": dns.rule_group.arn,
        "queryLogConfigId": dns.query_log_config.id if dns.query_log_config else None,
        "shareArn": dns.share.arn if dns.share else None,
        "priority": cfg.dns_firewall.association_priority,
        "failOpen": cfg.dns_firewall.fails_open(cfg.firewall.mode),
        "mutationProtection": cfg.firewall.protections.delete,
    }


# ---------------------------------------------------------------------------------------------
# Spoke stacks the hub serves


def read_spoke_stacks(cfg: config.StackConfig) -> list[config.ServedSpoke]:
    """Each listed spoke stack's outputs, checked against this hub before anything is
    declared. A stack with no outputs is left pending. A stack that does not exist fails
    `pulumi preview` ("unknown stack", pulumi/pulumi#19202): list a spoke stack once it has
    been deployed (README, onboarding)."""
    found = [(name, read_stack_outputs(pulumi.StackReference(name))) for name in cfg.spoke_stacks]
    served, errors = config.check_spoke_stacks(cfg, pulumi.get_stack(), found)
    if errors:
        raise ConfigErrors(errors)
    for s in served:
        if s.cidr is None:
            pulumi.log.warn(
                f"{s.reference}: no outputs yet (not deployed); its attachment is accepted "
                "and routed on this hub's next `pulumi up` after the spoke's"
            )
    return served


def _serve_spoke_stack(
    cfg: config.StackConfig, hub: EgressHub, served: config.ServedSpoke, tags: dict[str, str]
) -> dict[str, Any]:
    """Accepts a listed spoke stack's attachment and routes its replies (static routes)."""
    if served.attachment_id is None:
        return {"name": served.name, "status": "not deployed", "attachmentId": None}
    after: list[pulumi.Resource] = []
    if _needs_acceptance(cfg, served.account_id):
        after.append(
            aws.ec2transitgateway.VpcAttachmentAccepter(
                f"{served.name}-attachment-accepter",
                transit_gateway_attachment_id=served.attachment_id,
                transit_gateway_default_route_table_association=True,
                transit_gateway_default_route_table_propagation=cfg.return_routes == "propagated",
                tags={**tags, "Name": f"{served.name}-tgw-attachment"},
                opts=pulumi.ResourceOptions(parent=hub, provider=hub.tgw_provider),
            )
        )
    hub.connect_spoke(served.name, served.attachment_id, after)
    return {
        "name": served.name,
        "status": "accepted",
        "attachmentId": served.attachment_id,
        "cidr": served.cidr,
    }


def _needs_acceptance(cfg: config.StackConfig, spoke_account: str | None) -> bool:
    """An attachment from another account than the TGW's waits for the owner's acceptance,
    unless the TGW accepts shared attachments automatically (EC2 API,
    AcceptTransitGatewayVpcAttachment; TransitGateway AutoAcceptSharedAttachments)."""
    if cfg.transit_gateway.auto_accept:
        return False
    owner = cfg.transit_gateway.owner_account or aws.get_caller_identity().account_id
    return spoke_account != owner


def check_emerging_threats_fit(cfg: config.StackConfig, spec: FirewallPolicySpec) -> None:
    """The declared ET groups and the hub's own groups must fit one policy's quotas."""
    et = cfg.rules.emerging_threats
    if not et.enabled:
        return
    caps = cfg.rules.capacity
    own_groups = len(spec.stateful_groups) + len(spec.managed_groups)
    own_capacity = sum(g.capacity for g in spec.stateful_groups) + sum(
        getattr(m, "capacity", 0) for m in spec.managed_groups
    )
    et_capacity = et.groups * et.group_capacity
    problems = policy_problems(
        group_count=own_groups + et.groups,
        capacity=own_capacity + et_capacity,
        groups_max=caps.groups_max,
        policy_capacity_max=caps.policy_capacity_max,
    )
    if problems:
        raise ConfigErrors(
            [
                config.ConfigError(
                    config.key("rules", "emergingThreats", "groupCapacity"),
                    f"{et.groups} Emerging Threats groups of {et.group_capacity} "
                    f"({et_capacity}) next to the hub's {own_groups} groups ({own_capacity}): "
                    + "; ".join(problems),
                    "lower emergingThreats.groups or groupCapacity (with fewer categories), "
                    "or raise rules.capacity if AWS raised your quotas",
                )
            ]
        )


def _emerging_threats_groups(
    cfg: config.StackConfig,
    tags: dict[str, str],
    name: str = "hub",
    beside: pulumi.ResourceOptions | None = None,
) -> EmergingThreatsGroups | None:
    """The ET rule groups the policy references and the sync function fills."""
    et = cfg.rules.emerging_threats
    if not et.enabled:
        return None
    return EmergingThreatsGroups(
        f"{name}-et-groups",
        EmergingThreatsGroupsArgs(
            config=et,
            home_net=et.home_net or home_net(cfg),
            external_net=external_net(cfg),
            tags=tags,
        ),
        opts=beside,
    )


def emerging_threats_sync(
    cfg: config.StackConfig,
    hub: EgressHub,
    groups: EmergingThreatsGroups | None,
    tags: dict[str, str],
    name: str = "hub",
) -> EmergingThreatsSync | None:
    """The scheduled function that fills the ET groups. Nothing runs it during a deploy:
    its first run is on schedule (or `aws lambda invoke --invocation-type Event`)."""
    et = cfg.rules.emerging_threats
    if groups is None:
        return None
    return EmergingThreatsSync(
        f"{name}-et-sync",
        EmergingThreatsSyncArgs(
            groups=groups.groups,
            home_net=et.home_net or home_net(cfg),
            external_net=external_net(cfg),
            firewall_mode=cfg.firewall.mode,
            config=et,
            tags=tags,
            retain_on_delete=cfg.retain_logs_on_delete,
        ),
        opts=pulumi.ResourceOptions(parent=hub),
    )


def _declare_spoke(
    cfg: config.StackConfig,
    spoke_cfg: config.SpokeConfig,
    tgw_id: pulumi.Input[str],
    tags: dict[str, str],
    hub: EgressHub | None,
    parent: pulumi.Resource | None = None,
    ingress: SpokeIngress | None = None,
    connected: bool = True,
    in_tgw_account: bool | None = None,
) -> Spoke:
    """A spoke in this account, or in another one through a provider assuming the given role.
    Not ``connected``: its attachment waits for acceptance, so no route uses it yet."""
    args, opts = spoke_component_args(
        cfg, spoke_cfg, tgw_id, tags, hub, parent, ingress, connected, in_tgw_account
    )
    return Spoke(spoke_cfg.name, args, opts=opts)


def spoke_component_args(
    cfg: config.StackConfig,
    spoke_cfg: config.SpokeConfig,
    tgw_id: pulumi.Input[str],
    tags: dict[str, str],
    hub: EgressHub | None,
    parent: pulumi.Resource | None = None,
    ingress: SpokeIngress | None = None,
    connected: bool = True,
    in_tgw_account: bool | None = None,
) -> tuple[SpokeArgs, pulumi.ResourceOptions]:
    """What a spoke component is given (the program and the library's ``Spoke`` alike); the
    provider for another account is declared here."""
    opts = pulumi.ResourceOptions(parent=parent)
    # A role in the stack's own account (when the stack names it) is no other account.
    other_account = spoke_cfg.role_arn is not None and spoke_cfg.role_account != cfg.account_id
    if other_account:
        provider = aws.Provider(
            f"{spoke_cfg.name}-account",
            region=cfg.region,
            # Typed args, not a dict: provider settings are sent as JSON with the provider's
            # own (camelCase) keys only when the input type does the translation.
            assume_roles=[
                aws.ProviderAssumeRoleArgs(role_arn=spoke_cfg.role_arn, session_name="egress-net")
            ],
            opts=pulumi.ResourceOptions(parent=parent),
        )
        opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    tgw_elsewhere = cfg.transit_gateway.owner_role_arn is not None
    owner_differs = (
        spoke_cfg.role_account != cfg.transit_gateway.owner_account
        if tgw_elsewhere
        else other_account
    )
    if in_tgw_account is None:
        in_tgw_account = not owner_differs
    propagate = cfg.return_routes == "propagated"
    accept = None
    if owner_differs and hub is not None and not cfg.transit_gateway.auto_accept:

        def accept(attachment: aws.ec2transitgateway.VpcAttachment) -> pulumi.Resource:
            # The TGW's owner accepts the attachment; association and propagation then
            # follow the TGW defaults.
            return aws.ec2transitgateway.VpcAttachmentAccepter(
                f"{spoke_cfg.name}-attachment-accepter",
                transit_gateway_attachment_id=attachment.id,
                transit_gateway_default_route_table_association=True,
                # With static return routes nothing propagates: the hub routes declared
                # spokes itself.
                transit_gateway_default_route_table_propagation=propagate,
                tags={**tags, "Name": f"{spoke_cfg.name}-tgw-attachment"},
                opts=pulumi.ResourceOptions(parent=hub, provider=hub.tgw_provider),
            )

    args = SpokeArgs(
        cidr=spoke_cfg.cidr,
        az_ids=cfg.spoke_az_ids(spoke_cfg),
        az_slots=cfg.slots,
        transit_gateway_id=tgw_id,
        tags={**tags, **spoke_cfg.tags},
        attach_after=list(hub.attachment_prerequisites) if hub else [],
        accept_attachment=accept,
        # The attachment's own flag counts only on a TGW of its own account; on a shared
        # one the TGW's defaults (or the accepter) decide.
        default_propagation=None if (propagate or not in_tgw_account) else False,
        connected=connected,
        ingress=ingress,
    )
    return args, opts


# ---------------------------------------------------------------------------------------------
# role: spoke


def read_stack_outputs(ref: pulumi.StackReference) -> dict[str, Any]:
    """The referenced stack's outputs, synchronously: the spoke must check them before it
    declares anything."""
    outputs = _sync_await(ref.outputs.future())
    return dict(outputs or {})


def build_spoke_stack(cfg: config.StackConfig) -> dict[str, Any]:
    assert cfg.spoke is not None and cfg.hub_stack is not None
    hub_ref = pulumi.StackReference(cfg.hub_stack)
    hub_view, contract = checked_hub_view(cfg, read_stack_outputs(hub_ref))
    tags = stack_tags(cfg)
    account = aws.get_caller_identity().account_id
    in_tgw_account = account == contract.get("transitGatewayOwnerId")
    standing = spoke_standing(
        listed=_listing(contract, pulumi.get_stack()),
        auto_accept=bool(contract.get("transitGatewayAutoAccept")),
        in_tgw_account=in_tgw_account,
        static_returns=hub_view.return_routes == "static",
    )
    if standing.message:
        pulumi.log.warn(f"{cfg.hub_stack}: {standing.message}")
    spoke = _declare_spoke(
        hub_view,
        cfg.spoke,
        contract["transitGatewayId"],
        tags,
        None,
        connected=standing.connected,
        in_tgw_account=in_tgw_account,
    )
    dns = contract.get("dnsFirewall")
    if dns:
        protect_vpc(
            spoke,
            cfg.spoke.name,
            spoke.vpc_id,
            VpcProtection(
                rule_group_id=dns["ruleGroupId"],
                query_log_config_id=dns.get("queryLogConfigId"),
                priority=int(dns["priority"]),
                fail_open=bool(dns["failOpen"]),
                protected=bool(dns.get("mutationProtection", True)),
            ),
            {**tags, **cfg.spoke.tags},
        )
    outputs = spoke_stack_outputs(hub_view, spoke)
    outputs["spoke"] |= {"accountId": account, "status": standing.status}
    return outputs


def checked_hub_view(
    cfg: config.StackConfig, contract: dict[str, Any]
) -> tuple[config.StackConfig, dict[str, Any]]:
    """A spoke config checked against its hub's stack-output contract, with the hub's AZs and
    layout; ConfigErrors when the spoke does not fit the hub."""
    errors = config.check_spoke_against_hub(cfg, contract)
    if errors:
        raise ConfigErrors(errors)
    if contract.get("region") != cfg.region:
        raise ConfigErrors(
            [
                config.ConfigError(
                    "aws:region",
                    f"{cfg.region} differs from the hub's region {contract.get('region')}",
                    "a Transit Gateway attachment must be in the TGW's region",
                )
            ]
        )
    returns = contract.get("returnRoutes") or "propagated"
    hub_view = cfg.model_copy(
        update={
            "az_ids": list(contract["azIds"]),
            "az_slots": int(contract["azSlots"]),
            "transit_gateway": cfg.transit_gateway.model_copy(update={"return_routes": returns}),
        }
    )
    return hub_view, contract


def spoke_stack_outputs(hub_view: config.StackConfig, spoke: Spoke) -> dict[str, Any]:
    """A spoke stack's outputs (README, Stack-output contract)."""
    assert hub_view.spoke is not None
    return {
        "contractVersion": config.CONTRACT_VERSION,
        "hubStack": hub_view.hub_stack,
        "spoke": {
            "name": hub_view.spoke.name,
            "vpcId": spoke.vpc_id,
            "attachmentId": spoke.attachment_id,
            "cidr": hub_view.spoke.cidr,
            "azIds": hub_view.spoke_az_ids(hub_view.spoke),
        },
    }


def _listing(contract: Mapping[str, Any], stack: str) -> Mapping[str, Any] | None:
    """This stack's entry in the hub's ``spokeStacks`` (the hub lists org/project/stack)."""
    for reference, entry in (contract.get("spokeStacks") or {}).items():
        if reference.rsplit("/", 1)[-1] == stack and isinstance(entry, Mapping):
            return entry
    return None


@dataclass(frozen=True)
class SpokeStanding:
    connected: bool  # routes through the TGW may be declared
    status: str
    message: str  # what is missing, for the deployer ("" when nothing is)


def spoke_standing(
    *,
    listed: Mapping[str, Any] | None,
    auto_accept: bool,
    in_tgw_account: bool,
    static_returns: bool,
) -> SpokeStanding:
    """Where a spoke stack stands with its hub: a route through an attachment that waits for
    acceptance fails, and with static return routes an unlisted spoke gets no replies."""
    accepted = listed is not None and listed.get("status") == "accepted"
    if not (auto_accept or in_tgw_account or accepted):
        return SpokeStanding(
            False,
            "pending acceptance",
            "this spoke's attachment waits for the hub's acceptance, so its VPC has no route "
            "to the Transit Gateway yet; ask the hub's owners to add this stack to "
            "egress-net:spokeStacks and run `pulumi up` there, then run `pulumi up` here again",
        )
    if static_returns and not accepted:
        return SpokeStanding(
            True,
            "unrouted",
            "the hub does not list this stack in egress-net:spokeStacks, so no reply is "
            "routed back to it; ask the hub's owners to add it and run `pulumi up` there",
        )
    return SpokeStanding(True, "connected", "")


def outputs_contract_keys() -> Mapping[str, str]:
    """The hub's stack outputs that spokes and tools rely on (documented in the README)."""
    return {
        "contractVersion": "integer; bumped on any incompatible change",
        "model": "deployment model of the hub",
        "placement": "firewall placement: before-nat or after-nat",
        "region": "the hub's AWS region",
        "transitGatewayId": "ID of the shared Transit Gateway (null in model distributed)",
        "transitGatewayOwnerId": "account that owns the TGW",
        "spokesRouteTableId": "TGW route table new attachments are associated with",
        "egressRouteTableId": "TGW route table spoke CIDRs propagate into",
        "spokeSupernets": "address space spokes may use (HOME_NET)",
        "azIds": "AZ IDs with a firewall endpoint and NAT gateway",
        "azSlots": "AZ slots of the subnet layout",
        "ramShareArn": "RAM share of the TGW (null when not shared)",
        "firewallArn": "ARN of the hub's Network Firewall (null in model distributed)",
        "firewallPolicyArn": "ARN of the firewall policy every firewall of the stack uses",
        "firewallMode": "drop or alert",
        "egressVpcId": "ID of the egress VPC (null in model distributed)",
        "inspectionVpcId": "ID of the inspection VPC (centralized-inspection only)",
        "emergingThreatsFunction": "name of the ET Open sync function (null when disabled)",
        "spokes": "spokes of the hub stack: name → model, vpcId, attachmentId, cidr, azIds",
        "transitGatewayAutoAccept": "whether the TGW accepts shared attachments by itself",
        "returnRoutes": "static (a route per declared spoke) or propagated (null: no TGW)",
        "spokeStacks": "spoke stacks the hub serves: reference → name, status, attachmentId, cidr",
        "dnsFirewall": "DNS Firewall for spoke VPCs: ruleGroupId, ruleGroupArn, queryLogConfigId, "
        "shareArn, priority, failOpen, mutationProtection (null when disabled)",
        "ingress": "public applications (null without ingress): design, vpcId, name → "
        "loadBalancerDnsName",
    }


# ---------------------------------------------------------------------------------------------
# Ingress: public applications behind a firewall of their own (README, "Ingress inspection")


def ingress_applications(cfg: config.StackConfig) -> list[ApplicationSpec]:
    apps = cfg.ingress.applications if cfg.ingress else []
    return [
        ApplicationSpec(
            name=app.name,
            load_balancer_type=app.load_balancer_type,
            protocol=app.protocol,
            port=app.listener_port,
            target_protocol=app.backend_protocol,
            target_port=app.target_port,
            targets=tuple(app.targets),
            # The security group leaves out the stack's own networks: see load_balancer_sources.
            sources=load_balancer_sources(app.sources, config.ingress_internal_cidrs(cfg)),
            certificate_arn=app.certificate_arn,
            health_check=app.health_check.model_dump(),
        )
        for app in apps
    ]


def ingress_lb_subnets(cfg: config.StackConfig) -> dict[str, list[str]]:
    """The load balancer subnets by VPC (``ingress`` or a spoke's name): the ingress
    firewall's HOME_NET, laid out as the components carve them."""
    design = cfg.ingress_design
    if cfg.ingress is None or design is None:
        return {}
    vpcs: dict[str, tuple[str, list[str], tuple[str, ...]]] = {}
    if design == "centralized":
        assert cfg.ingress.vpc_cidr is not None
        vpcs["ingress"] = (cfg.ingress.vpc_cidr, cfg.az_ids, intent.INGRESS_VPC_TIERS)
    else:
        for spoke in _serving_spokes(cfg):
            az_ids = cfg.spoke_az_ids(spoke)
            tiers = intent.with_distributed_ingress_tiers(config.spoke_tiers(cfg, spoke))
            vpcs[spoke.name] = (spoke.cidr, az_ids, tiers)
    out: dict[str, list[str]] = {}
    for key, (cidr, az_ids, tiers) in vpcs.items():
        layout = addressing.carve_for_tiers(config.parse_cidr(cidr), az_ids, cfg.slots, tiers)
        out[key] = [str(p.cidr) for p in layout if p.tier == intent.LB_TIER]
    return out


def _serving_spokes(cfg: config.StackConfig) -> list[config.SpokeConfig]:
    names = {n for app in (cfg.ingress.applications if cfg.ingress else []) for n in app.spokes}
    return [s for s in cfg.spokes if s.name in names]


def _ingress_policy(
    cfg: config.StackConfig, hub: EgressHub, names: naming.StackNames, tags: dict[str, str]
) -> aws.networkfirewall.FirewallPolicy | None:
    """The ingress firewalls' policy: inbound rules only, apart from the egress policy."""
    if cfg.ingress is None or cfg.ingress_design is None:
        return None
    inbound = [
        InboundApp(app.name, app.listener_port, tuple(app.sources), tuple(app.blocked_sources))
        for app in cfg.ingress.applications
    ]
    home_net = [c for cidrs in ingress_lb_subnets(cfg).values() for c in cidrs]
    plan = plan_ingress_policy(inbound, home_net, cfg.firewall.mode)
    return build_ingress_policy(hub, "hub-ingress", plan, names, tags)


def _spoke_ingress(
    cfg: config.StackConfig,
    spoke: config.SpokeConfig,
    policy: aws.networkfirewall.FirewallPolicy | None,
    names: naming.StackNames,
    hub: EgressHub,
) -> SpokeIngress | None:
    if cfg.ingress_design != "distributed" or policy is None:
        return None
    apps = [a for a in ingress_applications(cfg) if spoke.name in _app_spokes(cfg, a.name)]
    if not apps:
        return None
    return SpokeIngress(apps, policy.arn, names, protections=protections_of(cfg), logs=hub.logs)


def _app_spokes(cfg: config.StackConfig, name: str) -> list[str]:
    assert cfg.ingress is not None
    return next(a.spokes for a in cfg.ingress.applications if a.name == name)


def _centralized_ingress(
    cfg: config.StackConfig,
    hub: EgressHub,
    policy: aws.networkfirewall.FirewallPolicy | None,
    names: naming.StackNames,
    tags: dict[str, str],
) -> CentralizedIngress | None:
    if cfg.ingress_design != "centralized" or policy is None:
        return None
    assert cfg.ingress is not None and cfg.ingress.vpc_cidr is not None
    assert hub.tgw is not None and hub.plan.tgw is not None
    return CentralizedIngress(
        "ingress",
        CentralizedIngressArgs(
            cidr=cfg.ingress.vpc_cidr,
            az_ids=cfg.az_ids,
            az_slots=cfg.slots,
            target_cidrs=[s.cidr for s in _serving_spokes(cfg)],
            transit_gateway_id=hub.tgw.id,
            tgw_plan=intent.ingress_tgw(hub.plan.tgw, cfg.ingress.vpc_cidr),
            hub_tgw_tables={k: v.id for k, v in hub.tgw_route_tables.items()},
            policy_arn=policy.arn,
            apps=ingress_applications(cfg),
            names=names,
            protections=protections_of(cfg),
            logs=hub.logs,
            tags=tags,
            attach_after=list(hub.attachment_prerequisites),
        ),
    )


def _ingress_outputs(
    cfg: config.StackConfig, central: CentralizedIngress | None, served: dict[str, Any]
) -> dict[str, Any] | None:
    if cfg.ingress_design is None:
        return None
    return {
        "design": cfg.ingress_design,
        "vpcId": central.vpc.id if central is not None else None,
        "applications": {k: v.load_balancer.dns_name for k, v in served.items()},
    }
