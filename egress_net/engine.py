"""The offline engine: runs the Pulumi program for a stack under Pulumi's mocks and records it.

Product code, used by ``egress-net synth``/``verify`` and by the tests. It deploys nothing: it
answers the engine's calls with deterministic, realistic values (IDs, ARNs, firewall sync
states per AZ, NAT public IPs), records every resource with its inputs, parent and provider,
and serves ``StackReference`` outputs from another stack's offline run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import ipaddress
import json
import logging
import os
import re
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from egress_net import aws_checks, config, project_files
from egress_net.errors import ConfigError, EgressNetError
from egress_net.offline import api_rules, arns, quotas
from egress_net.offline.preview import check_preview_matches
from egress_net.offline.sharing import check_cross_account
from egress_net.partitions import Partition, partition_of
from egress_net.recording import RecordedResource, Recording

PROJECT = "egress-net"
_AZ_LETTERS = "abcdef"
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def configured_account(values: Mapping[str, Any]) -> str | None:
    """The account the stack says it deploys into (``egress-net:accountId``), if well formed."""
    value = values.get(f"{config.NAMESPACE}:accountId")
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if _ACCOUNT_ID.match(text) else None


def placeholder_account(project: str, stack: str) -> str:
    """The account a stack without ``accountId`` runs as offline: deterministic, different per
    stack (two stacks are not assumed to share an account), and reported as a placeholder."""
    return str(int(_digest("placeholder-account", project, stack)[:12], 16) % 10**12).zfill(12)


# ---------------------------------------------------------------------------------------------
# Deterministic fake values


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def fake_id(prefix: str, seed: str, length: int = 17) -> str:
    return f"{prefix}-{_digest(prefix, seed)[:length]}"


def az_name_for(az_id: str, region: str, account: str) -> str:
    """The AZ name an account sees for an AZ ID. Deliberately scrambled per account, as in AWS,
    so that code keyed by AZ name or list position shows up as wrong in tests."""
    number = int(az_id.rsplit("az", 1)[-1])
    rotation = int(_digest(account, region)[:4], 16) % len(_AZ_LETTERS)
    return f"{region}{_AZ_LETTERS[(number - 1 + rotation) % len(_AZ_LETTERS)]}"


_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/route:Route": "r",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/securityGroup:SecurityGroup": "sg",  # CreateSecurityGroup GroupId sg-…
    "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw",
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach",
    "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb",
    # Route 53 Resolver IDs (API: FirewallRuleGroup.Id rslvr-frg-…, FirewallDomainList.Id
    # rslvr-fdl-…, FirewallRuleGroupAssociation.Id rslvr-frgassoc-…, ResolverQueryLogConfig.Id
    # rslvr-qlc-…, ResolverQueryLogConfigAssociation.Id rslvr-qlcassoc-…).
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": "rslvr-frg",
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": "rslvr-fdl",
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": (
        "rslvr-frgassoc"
    ),
    "aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig": "rslvr-qlc",
    "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation": (
        "rslvr-qlcassoc"
    ),
    "aws:route53/resolverFirewallConfig:ResolverFirewallConfig": "rslvr-fc",
}

# Types whose physical ID is their name (the provider's resource ID), and the input naming it.
_NAME_IS_ID = {
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws:iam/role:Role": "name",
    "aws:lambda/function:Function": "name",
    "aws:ssm/parameter:Parameter": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
}


@dataclass
class _World:
    """What the fake cloud knows so far, so later resources can refer to earlier ones."""

    region: str
    default_account: str
    subnets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → inputs
    eips: dict[str, dict[str, Any]] = field(default_factory=dict)  # allocation id → state
    provider_accounts: dict[str, str] = field(default_factory=dict)  # provider urn → account
    public_ips: set[int] = field(default_factory=set)  # slots of _PUBLIC_POOL in use

    @property
    def partition(self) -> Partition:
        return partition_of(self.region)


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers the engine's calls as AWS would, for one stack's run.

    ``account`` is the account the credentials are for: ``getCallerIdentity`` answers it and
    resources of the default provider live in it; a provider assuming a role lives in the
    role's account. With ``preview`` set, new resources are answered as ``pulumi preview``
    answers them: inputs only, the ID and every computed output unknown.
    """

    def __init__(
        self,
        region: str,
        account: str,
        stack_outputs: Callable[[str], dict[str, Any] | None],
        *,
        preview: bool = False,
    ) -> None:
        self.world = _World(region=region, default_account=account)
        self.stack_outputs = stack_outputs
        self.preview = preview
        self.missing_stacks: list[str] = []
        self.accounts: dict[str, str] = {}  # resource urn → account it lives in

    # Called by OfflineMonitor with the URN and provider of the resource being registered.
    def new_resource_at(
        self, args: pulumi_mocks.MockResourceArgs, urn: str
    ) -> tuple[str | None, dict[str, Any]]:
        account = self._account(args.provider)
        self.accounts[urn] = account
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(args)
        if args.typ.startswith("pulumi:providers:"):
            role = _first(args.inputs.get("assumeRoles")).get("roleArn", "")
            self.world.provider_accounts[urn] = (
                role.split(":")[4] if role.count(":") >= 5 else account
            )
            return fake_id("provider", urn), dict(args.inputs)
        if not args.custom:
            return "", {}
        resource_id, state = self._new_state(args, urn, account)
        handler = _RESOURCE_STATE.get(args.typ)
        if handler:
            state.update(handler(self.world, args.inputs, resource_id, urn, account))
        return str(state["id"]), state

    def _new_state(
        self, args: pulumi_mocks.MockResourceArgs, urn: str, account: str
    ) -> tuple[str, dict[str, Any]]:
        """The physical ID and ARN AWS would give a new resource, and its state."""
        name_key = _NAME_IS_ID.get(args.typ, "name")
        name = _auto_name(args.inputs, urn, name_key)
        # pulumi-aws v7 resources may name their own region; the partition follows it.
        region = str(args.inputs.get("region") or self.world.region)
        new = arns.NewResource(
            partition=partition_of(region),
            region=region,
            account=account,
            id=fake_id(_ID_PREFIX.get(args.typ, "id"), urn),
            name=name,
            urn=urn,
            inputs=args.inputs,
        )
        if args.typ in _NAME_IS_ID:
            new = replace(new, id=name)
        arn = arns.arn_for(args.typ, new)
        resource_id = arn if arn and args.typ in arns.ARN_IS_ID else new.id
        if args.typ == "aws:networkfirewall/loggingConfiguration:LoggingConfiguration":
            # The provider's ID of a logging configuration is its firewall's ARN.
            resource_id = str(args.inputs.get("firewallArn") or resource_id)
        state: dict[str, Any] = {"id": resource_id}
        if arn:
            state["arn"] = arn
        if args.typ in _NAME_IS_ID or args.typ in arns.ARN_IS_ID:
            state[name_key] = name
        return resource_id, {**state, **args.inputs}

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        return self.new_resource_at(args, args.name)

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
        account = self._account(args.provider)
        region = self.world.region
        partition = self.world.partition
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": account,
                "arn": partition.arn("iam", "", account, "user/offline"),
                "userId": "OFFLINE",
                "id": account,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "name": region,
                "region": region,
                "id": region,
                "endpoint": f"ec2.{region}.{partition.dns_suffix}",
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {
                "partition": partition.name,
                "dnsSuffix": partition.dns_suffix,
                "reverseDnsPrefix": ".".join(reversed(partition.dns_suffix.split("."))),
                "id": partition.name,
            }
        raise NotImplementedError(
            f"the offline engine does not answer the invoke {args.token}; add it to "
            "egress_net.engine.OfflineMocks.call"
        )

    def _account(self, provider_ref: str | None) -> str:
        """The account a resource lives in: its provider's assumed role, else the default."""
        if provider_ref:
            provider_urn = provider_ref.rsplit("::", 1)[0]
            return self.world.provider_accounts.get(provider_urn, self.world.default_account)
        return self.world.default_account

    def _stack_reference(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        name = str(args.inputs.get("name", args.name))
        outputs = self.stack_outputs(name)
        if outputs is None:
            self.missing_stacks.append(name)
            outputs = {}
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}


# Computed properties per type: (world, inputs, id, urn, account) → extra state.
def _subnet(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    """A subnet's AZ is the one it was declared in. Declared by AZ ID, its AZ name follows
    (scrambled per account, as in AWS); declared without one, AWS would pick an AZ that no
    offline run can know: the AZ stays unknown (absent) rather than made up."""
    world.subnets[rid] = {**inputs, "account": account}
    az_id = inputs.get("availabilityZoneId")
    if not az_id:
        return {}
    return {"availabilityZone": az_name_for(az_id, world.region, account)}


# Public addresses come from 198.18.0.0/15 (RFC 2544, reserved for testing): never a real
# host, and large enough for thousands of NAT gateways without two sharing an address.
_PUBLIC_POOL = ipaddress.IPv4Network("198.18.0.0/15")


def _eip(world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str) -> dict[str, Any]:
    size = _PUBLIC_POOL.num_addresses - 2
    slot = int(_digest(urn)[:8], 16) % size
    while slot in world.public_ips:  # rare; linear probing keeps addresses unique
        slot = (slot + 1) % size
    world.public_ips.add(slot)
    public_ip = str(_PUBLIC_POOL.network_address + 1 + slot)
    state = {"allocationId": rid, "publicIp": public_ip, "domain": "vpc"}
    world.eips[rid] = state
    return state


def _nat(world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str) -> dict[str, Any]:
    subnet = world.subnets.get(inputs.get("subnetId", ""), {})
    cidr = ipaddress.IPv4Network(subnet.get("cidrBlock", "10.255.255.0/28"))
    private_ip = str(
        cidr.network_address + 4 + int(_digest(urn)[:2], 16) % max(cidr.num_addresses - 5, 1)
    )
    eip = world.eips.get(inputs.get("allocationId", ""), {})
    return {
        "publicIp": eip.get("publicIp", ""),
        "privateIp": private_ip,
        "networkInterfaceId": fake_id("eni", urn),
    }


def _firewall(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    sync_states = []
    for mapping in inputs.get("subnetMappings") or []:
        subnet_id = mapping.get("subnetId", "")
        subnet = world.subnets.get(subnet_id, {})
        az_id = subnet.get("availabilityZoneId", "")
        sync_states.append(
            {
                "availabilityZone": az_name_for(az_id, world.region, account) if az_id else "",
                "attachments": [
                    {
                        "endpointId": fake_id("vpce", f"{urn}/{subnet_id}"),
                        "subnetId": subnet_id,
                        "status": "READY",
                    }
                ],
            }
        )
    status: dict[str, Any] = {}
    if inputs.get("transitGatewayId"):
        # Attached natively to a TGW: AWS manages the endpoints and reports one attachment.
        for mapping in inputs.get("availabilityZoneMappings") or []:
            az_id = mapping.get("availabilityZoneId", "")
            sync_states.append(
                {
                    "availabilityZone": az_name_for(az_id, world.region, account),
                    "attachments": [
                        {"endpointId": fake_id("vpce", f"{urn}/{az_id}"), "status": "READY"}
                    ],
                }
            )
        status["transitGatewayAttachmentSyncStates"] = [
            {"attachmentId": fake_id("tgw-attach", f"{urn}/firewall")}
        ]
    # AWS lists sync states in no particular order; so do we (sorted by AZ name).
    sync_states.sort(key=lambda s: s["availabilityZone"])
    status["syncStates"] = sync_states
    return {"firewallStatuses": [status], "updateToken": fake_id("token", urn, 32)}


def _tgw(world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str) -> dict[str, Any]:
    return {
        "ownerId": account,
        "associationDefaultRouteTableId": fake_id("tgw-rtb", urn + "/default"),
        "propagationDefaultRouteTableId": fake_id("tgw-rtb", urn + "/default"),
    }


def _attachment(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    return {"vpcOwnerId": account}


def _vpc(world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str) -> dict[str, Any]:
    return {"ownerId": account, "mainRouteTableId": fake_id("rtb", urn + "/main")}


def _auto_name(inputs: dict[str, Any], urn: str, key: str = "name") -> str:
    """The physical name: as given, or Pulumi's auto-name (logical name + random suffix)."""
    given = inputs.get(key)
    if given:
        return str(given)
    logical = urn.rsplit("::", 1)[-1]
    return f"{logical}-{_digest(urn)[:7]}"


def _owned(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    """Resources that report the account owning them (Route 53 Resolver's OwnerId)."""
    return {"ownerId": account}


def _with_update_token(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    return {"updateToken": fake_id("token", urn, 32)}


def _load_balancer(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    """An ELB's ARN (its ID) and DNS name, in the format ELB gives them: an Application Load
    Balancer is ``[internal-]<name>-<number>.<region>.elb.<suffix>``, a Network Load Balancer
    ``<name>-<hex>.elb.<region>.<suffix>`` (ELB user guides, "DNS name": e.g.
    my-load-balancer-1234567890.us-west-2.elb.amazonaws.com and
    my-load-balancer-1234567890abcdef.elb.us-east-2.amazonaws.com)."""
    name = _auto_name(inputs, urn)
    application = inputs.get("loadBalancerType", "application") == "application"
    kind = "app" if application else "net"
    suffix = _digest(urn)[:16]
    arn = (
        f"arn:{world.partition.name}:elasticloadbalancing:{world.region}:{account}:"
        f"loadbalancer/{kind}/{name}/{suffix}"
    )
    if application:
        internal = "internal-" if inputs.get("internal") else ""
        host = f"{internal}{name}-{int(suffix[:8], 16)}.{world.region}.elb"
    else:
        host = f"{name}-{suffix}.elb.{world.region}"
    dns = f"{host}.{world.partition.dns_suffix}"
    return {"id": arn, "arn": arn, "name": name, "dnsName": dns}


def _target_group(
    world: _World, inputs: dict[str, Any], rid: str, urn: str, account: str
) -> dict[str, Any]:
    name = _auto_name(inputs, urn)
    arn = (
        f"arn:{world.partition.name}:elasticloadbalancing:{world.region}:{account}:"
        f"targetgroup/{name}/{_digest(urn)[:16]}"
    )
    return {"id": arn, "arn": arn, "name": name}


_RESOURCE_STATE: dict[str, Callable[[_World, dict[str, Any], str, str, str], dict[str, Any]]] = {
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:networkfirewall/firewall:Firewall": _firewall,
    "aws:ec2transitgateway/transitGateway:TransitGateway": _tgw,
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": _attachment,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": _with_update_token,
    "aws:networkfirewall/ruleGroup:RuleGroup": _with_update_token,
    "aws:networkfirewall/tlsInspectionConfiguration:TlsInspectionConfiguration": (
        _with_update_token
    ),
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": _owned,
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": _owned,
    "aws:route53/resolverQueryLogConfig:ResolverQueryLogConfig": _owned,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
}


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def urn_of(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """A resource's URN: its type is qualified by its parent's qualified type (the middle part
    of the parent's URN), unless the parent is the root stack or there is none."""
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != ROOT_STACK_TYPE:
            type_ = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


class OfflineMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, plus a record of each resource's inputs, parent and provider."""

    def __init__(
        self, mocks: OfflineMocks, project: str, stack: str, working_dir: Path | None = None
    ) -> None:
        super().__init__(mocks)
        self.offline = mocks
        self.project = project
        self.stack = stack
        # The program's working directory, which relative asset and archive paths are read from.
        self.working_dir = working_dir or Path.cwd()
        self.records: list[RecordedResource] = []
        # The SDK calls the monitor from worker threads, each of which needs its own event
        # loop; they are closed when the run ends instead of being left to the collector.
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _thread_loop(self) -> None:
        self.thread_loops.add(_ensure_event_loop())

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """``urn:pulumi:<stack>::<project>::<parent's qualified type>$<type>::<name>``, as the
        engine builds it (pulumi/pulumi pkg/resource/deploy/deployment.go, generateURN, and
        sdk/go/common/resource/urn/urn.go, New): the parent's whole type chain, except that the
        root stack's type is never a prefix. The SDK's mock monitor keeps only the parent's last
        type and prefixes the stack's, and reads the names from its ambient settings, which SDKs
        before 3.260.0 do not carry into the worker threads that call the monitor (3.260.0 added
        ``runtime/_context.py``): named by the stack being run instead."""
        return urn_of(self.stack, self.project, parent, type_, name)

    def close_thread_loops(self) -> None:
        for loop in self.thread_loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()
        self.thread_loops.clear()

    def Invoke(self, request: Any) -> Any:
        """Invokes (``getCallerIdentity``...) run on worker threads too: their loops are closed
        with the rest, or the collector closes them at interpreter exit and prints a traceback."""
        self._thread_loop()
        return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        """Reads (StackReference, ``get`` of existing resources) are recorded like the rest."""
        self._thread_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        state = rpc.deserialize_properties(request.properties)
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=state,
            provider=request.provider,
            resource_id=request.id,
            custom=True,
        )
        resource_id, new_state = self.offline.new_resource_at(args, urn)
        self._record(request, urn, resource_id, state, new_state)
        props_proto = _sync_await(rpc.serialize_properties(new_state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
            urn, resource_id or "", new_state
        )
        return resource_pb2.ReadResourceResponse(urn=urn, properties=props_proto)

    def _record(
        self,
        request: Any,
        urn: str,
        resource_id: str | None,
        inputs: dict[str, Any],
        state: dict[str, Any],
        custom: bool = True,
    ) -> None:
        self.records.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                urn=urn,
                id=resource_id or "",
                inputs=_plain(inputs, self.working_dir),
                outputs=_plain(state, self.working_dir),
                parent=request.parent or None,
                provider=request.provider or None,
                custom=custom,
                dependencies=tuple(getattr(request, "dependencies", ())),
                account=self.offline.accounts.get(urn, ""),
                retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            )
        )

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == ROOT_STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        self._thread_loop()
        inputs = rpc.deserialize_properties(request.object)
        if request.type.startswith("pulumi:providers:"):
            # Provider settings travel as strings, objects as JSON text.
            inputs = {k: config.decode_value(v) for k, v in inputs.items()}
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        resource_id, state = self.offline.new_resource_at(args, urn)
        if self.offline.preview and request.custom:
            return self._preview_response(request, urn, inputs)
        self._record(request, urn, resource_id, inputs, state, custom=bool(request.custom))
        obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
            urn, resource_id or "", state
        )
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id or "", object=obj_proto
        )

    def _preview_response(self, request: Any, urn: str, inputs: dict[str, Any]) -> Any:
        """A resource about to be created, as `pulumi preview` reports it: its inputs as given
        (unknown ones stay unknown), no ID, and every output only AWS computes (IDs, ARNs,
        sync states, tokens, owner IDs) missing, which the SDK resolves as unknown. Program
        code that needs them (an ``apply``) does not run, exactly as under the real CLI."""
        self._record(request, urn, "", inputs, inputs, custom=True)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, "", inputs)
        return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=request.object)


# The extensions Pulumi reads as archive files (archive.go, ArchiveExts).
ARCHIVE_FILE_EXTENSIONS = (".tar", ".tgz", ".tar.gz", ".zip", ".jar")


def _on_disk(path: str, working_dir: Path | None) -> Path:
    """Where the CLI reads an asset's or archive's file: a relative path from the program's
    working directory (the project folder), whatever folder the CLI was started in
    (pulumi/pulumi sdk/go/common/resource/plugin/rpc.go, EnsureHashWithWD with the resource
    monitor's workingDirectory, the run's Pwd: pkg/resource/deploy/source_eval.go)."""
    return (working_dir or Path.cwd()) / path


def _is_archive_file(path: str, working_dir: Path | None = None) -> bool:
    return path.endswith(ARCHIVE_FILE_EXTENSIONS) and _on_disk(path, working_dir).is_file()


def _plain(value: Any, working_dir: Path | None = None) -> Any:
    """Deserialized properties as plain JSON-like data (no Pulumi sentinels or Resources);
    relative asset paths are read from ``working_dir`` (default: the current folder)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v, working_dir) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, working_dir) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    if isinstance(value, pulumi.AssetArchive):
        # Recorded by content, not by object identity, so a recording is reproducible.
        return {
            "assetArchive": {k: _plain(v, working_dir) for k, v in sorted(value.assets.items())}
        }
    if isinstance(value, pulumi.FileArchive) and _is_archive_file(str(value.path), working_dir):
        # An archive file is what Pulumi diffs by: the SHA-256 of its bytes, wherever it lies
        # (pulumi/pulumi sdk/go/common/resource/archive/archive.go, EnsureHashWithWD).
        digest = hashlib.sha256(_on_disk(str(value.path), working_dir).read_bytes()).hexdigest()
        return {"archive": {"sha256": digest}}
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        if not _on_disk(str(value.path), working_dir).exists():
            # The CLI hashes every file asset and archive before the provider sees it and stops
            # the deploy when it cannot ("failed to compute archive hash for ...", pulumi/pulumi
            # sdk/go/common/resource/plugin/rpc.go); aws_checks refuses the recorded marker.
            return {"missingFile": str(value.path)}
        return {"file": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    return str(value)


# ---------------------------------------------------------------------------------------------
# Running a stack


@dataclass
class StackSource:
    """Where a stack's program and config come from."""

    project_dir: Path
    stack: str
    config: dict[str, Any]  # namespaced keys → parsed YAML values
    # The project's name (``name:`` of its Pulumi.yaml): any project built on the package runs.
    project: str = PROJECT
    # What the CLI would warn about while loading the stack (empty values, unread namespaces).
    warnings: list[str] = field(default_factory=list)

    @property
    def program(self) -> Path:
        return self.project_dir / "__main__.py"


def pulumi_config_strings(values: Mapping[str, Any]) -> dict[str, str]:
    """Config as the Pulumi CLI hands it to a program: strings, with objects as JSON text."""
    out: dict[str, str] = {}
    for k, v in values.items():
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, dict | list):
            out[k] = json.dumps(v)
        elif v is None:
            continue
        else:
            out[k] = str(v)
    return out


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _isolated(project_dir: Path) -> Iterator[None]:
    """No PULUMI_CONFIG from the environment; the project's package first on sys.path."""
    saved_env = os.environ.pop("PULUMI_CONFIG", None)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(project_dir))
        if saved_env is not None:
            os.environ["PULUMI_CONFIG"] = saved_env


# Far above the count a run reaches (one per ten young-generation collections).
_NO_FULL_COLLECTION = 1_000_000


@contextlib.contextmanager
def _full_collections_deferred() -> Iterator[None]:
    """Defer the garbage collector's full (oldest-generation) collections while a program runs.

    A run builds one object graph that stays alive until the run ends: every resource, each
    with an Output, futures and a task per property. Each full collection rescans all of it
    and frees next to nothing; measured, they were half of synth time at 100 spokes
    (`benchmarks/synth.py` prints both). Young generations are still collected, and the
    count of deferred collections carries over, so the first collection after the run is a
    full one: memory is not left to grow across runs.
    """
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_FULL_COLLECTION)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, oldest)


# Off only to measure what skipping costs (`benchmarks/synth.py`).
_SKIP_SOURCE_POSITIONS = True


def _no_stack_trace(*_args: Any, **_kwargs: Any) -> source_pb2.StackTrace:
    return source_pb2.StackTrace()  # what the SDK sends when it finds no user frame


@contextlib.contextmanager
def _source_positions_skipped() -> Iterator[None]:
    """Skip the SDK's capture of the Python stack behind each resource while a program runs.

    Under `pulumi up` the stack tells the engine where each resource was declared; the offline
    engine records nothing of it, and extracting it (every frame, its file read through
    linecache) was a fifth of synth time at 100 spokes. Pulumi's function is put back after
    the run; an SDK without it is left alone.
    """
    capture = getattr(runtime_resource, "_get_stack_trace", None)
    if capture is None or not _SKIP_SOURCE_POSITIONS:
        yield
        return
    runtime_resource._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = capture


def run_program(
    source: StackSource,
    *,
    stack_outputs: Callable[[str], dict[str, Any] | None] = lambda _name: None,
    account: str | None = None,
    preview: bool = False,
) -> tuple[Recording, list[str], list[str]]:
    """Run once. Returns the recording, warnings logged, and stack references it could not serve.

    ``account`` is the account the credentials are for; by default the stack's own
    ``accountId``, else its placeholder. ``preview`` runs the program as `pulumi preview` does.
    """
    region = str(source.config.get("aws:region", "us-east-1"))
    known = configured_account(source.config)
    credentials = account or known or placeholder_account(source.project, source.stack)
    mocks = OfflineMocks(region, credentials, stack_outputs, preview=preview)
    # The CLI runs the program in the project folder: relative asset paths are read from there.
    monitor = OfflineMonitor(mocks, source.project, source.stack, source.project_dir)
    collector = _WarningCollector()
    logger = logging.getLogger(f"egress_net.engine.{source.stack}")
    logger.propagate = False
    logger.handlers = [collector]

    # The project folder is the program's root directory, as under `pulumi up`: relative paths
    # in config (rule files) resolve against it.
    settings.reset_options(
        project=source.project,
        stack=source.stack,
        preview=preview,
        root_directory=str(source.project_dir),
    )
    pulumi_config.set_all_config(pulumi_config_strings(source.config), [])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(
        mocks,
        project=source.project,
        stack=source.stack,
        preview=preview,
        logger=logger,
        monitor=monitor,
    )
    exported: dict[str, Any] = {}

    def program() -> None:
        runpy.run_path(str(source.program), run_name="__main__")

    try:
        with (
            _isolated(source.project_dir),
            _full_collections_deferred(),
            _source_positions_skipped(),
        ):
            _sync_await(run_pulumi_func(program))
            root = settings.get_root_resource()
            outputs = dict(getattr(root, "outputs", {}) or {})
            if outputs and preview:
                # One unknown output would make the whole map unknown: each stands alone.
                exported = {
                    name: _plain(
                        _sync_await(pulumi.Output.from_input(value).future()), source.project_dir
                    )
                    for name, value in outputs.items()
                }
            elif outputs:
                resolved = _sync_await(pulumi.Output.from_input(outputs).future())
                exported = _plain(resolved or {}, source.project_dir)
    except pulumi.RunError as err:
        cause = getattr(err, "error", None)
        if mocks.missing_stacks:
            return Recording(source.project, source.stack), collector.messages, mocks.missing_stacks
        if isinstance(cause, EgressNetError):
            # What was registered before the error: tests check that it is nothing.
            cause.registered = list(monitor.records)
            raise cause from None
        raise
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())  # the workers are done
        loop.close()
        monitor.close_thread_loops()
        asyncio.set_event_loop(None)
        pulumi_config.set_all_config({}, [])
        settings.reset_options()

    recording = Recording(
        project=source.project,
        stack=source.stack,
        resources=list(monitor.records),
        outputs=exported,
        config=dict(source.config),
        account=credentials,
        account_known=credentials == known,
        preview=preview,
    )
    if not preview:  # a preview's references are unknown: the up pass is the one checked
        aws_checks.refuse_what_aws_would(recording)  # what a real deploy would fail on
    return recording, collector.messages, mocks.missing_stacks


@dataclass
class SynthResult:
    recording: Recording
    warnings: list[str]
    referenced: dict[str, Recording]  # stacks served to StackReferences, by reference name


def stack_name_of(reference: str) -> str:
    """``org/project/stack`` or ``stack`` → ``stack``."""
    return reference.rsplit("/", 1)[-1]


def load_source(stack: str, project_dir: Path | None = None) -> StackSource:
    """A stack's program and config, loaded and checked as the Pulumi CLI does before it runs
    the program: Pulumi.yaml validated, the stack file read, project defaults merged in,
    required and typed keys checked (`project_files`)."""
    folder = (project_dir or config.find_project_dir()).resolve()
    loaded = project_files.load_stack(stack, folder)
    secrets = project_files.secure_paths(loaded.config)
    if secrets:
        # The CLI decrypts them with the stack's secrets provider before the program runs;
        # nothing offline can, and a made-up value would be checked in place of the real one.
        raise ConfigError(
            secrets[0],
            "is a secret (secure:) value, which the offline run cannot decrypt"
            + (f" (also: {', '.join(secrets[1:])})" if len(secrets) > 1 else ""),
            "this project's config holds no secrets (names, CIDRs, ARNs): set the plain value "
            "with `pulumi config set` (without --secret)",
        )
    return StackSource(folder, stack, loaded.config, loaded.project.name, loaded.warnings)


def project_name(project_dir: Path) -> str:
    """``name:`` of the project's Pulumi.yaml, checked as the CLI loads it."""
    return project_files.load_project(project_dir.resolve()).name


def synth(
    source: StackSource,
    *,
    max_depth: int = 4,
    preview: bool = True,
    account: str | None = None,
) -> SynthResult:
    """Run a stack offline, first running any stack it references (in the same project).

    Each run is checked as the real CLI and AWS would check it: with ``preview`` the stack also
    runs as `pulumi preview` and must declare the same resources; every recorded input is
    checked against AWS's API models; a TGW attachment across accounts must be shared and
    accepted. ``account`` overrides the account the credentials are
    for (by default the stack's ``accountId`` or its placeholder). Referenced stacks run as
    themselves (their own account), without their own preview pass.
    """
    # One deferral for all passes: a full collection between them would rescan the first
    # pass's object graph, as inside a run (see _full_collections_deferred).
    with _full_collections_deferred():
        return _synth(source, max_depth=max_depth, preview=preview, account=account)


def _synth(
    source: StackSource, *, max_depth: int, preview: bool, account: str | None
) -> SynthResult:
    """Run ``source`` and every stack it references (in the same project), referenced stacks
    first.

    References are served from the referenced stacks' own offline runs, in the order real
    deployments happen. A stack not run yet is served as Pulumi serves a stack that was
    created but never deployed: with no outputs. Two stacks may read each other (a hub lists
    the spoke stacks it serves, each spoke reads its hub): each stack runs again whenever the
    outputs it read have changed, as a second `pulumi up` would, until nothing changes.
    """
    sources = {source.stack: source}
    order = [source.stack]  # referenced stacks before the stacks reading them
    reference_of: dict[str, str] = {}  # stack → the reference name it was asked by
    outputs: dict[str, dict[str, Any]] = {}
    results: dict[str, tuple[Recording, list[str]]] = {}
    reads: dict[str, dict[str, Any]] = {}  # stack → the outputs it was served, by stack

    def served(stack: str) -> dict[str, Any]:
        return {other: outputs.get(other) for other in reads.get(stack, {})}

    for _ in range((max_depth + 1) * 2):
        changed = False
        for stack in list(order):
            if stack in reads and served(stack) == reads[stack]:
                continue  # nothing it reads has changed since its last run
            read: dict[str, Any] = {}

            def outputs_for(name: str, read: dict[str, Any] = read) -> dict[str, Any] | None:
                value = outputs.get(stack_name_of(name))
                read[stack_name_of(name)] = value
                return value

            recording, warns, missing = run_program(
                sources[stack],
                stack_outputs=outputs_for,
                # Referenced stacks run as themselves (their own account).
                account=account if stack == source.stack else None,
            )
            reads[stack] = read
            for name in missing:
                other = stack_name_of(name)
                if other not in sources:
                    sources[other] = _referenced_source(sources[stack], name)
                    order.insert(order.index(stack), other)
                    reference_of[other] = name
                    changed = True
            if missing and not recording.resources:
                continue  # failed for want of a stack that has not run yet
            if outputs.get(stack) != recording.outputs:
                changed = True
            outputs[stack] = recording.outputs
            results[stack] = (recording, warns)
        if not changed:
            break
    else:
        raise ConfigError(f"{config.NAMESPACE}:hubStack", "stack references nest too deeply")
    for stack in order:
        if stack not in results:
            # Every stack it reads has had its runs: run it once more to report its error.
            run_program(sources[stack], stack_outputs=lambda n: outputs.get(stack_name_of(n), {}))
    recording, warnings = results[source.stack]
    referenced = {
        reference_of.get(other, other): results[other][0]
        for other in reads.get(source.stack, {})
        if other in results
    }
    api_rules.check_recording(recording)
    check_cross_account([recording, *referenced.values()])
    if preview:
        final = dict(outputs)
        seen_by_preview = run_program(
            source,
            stack_outputs=lambda n: final.get(stack_name_of(n)),
            account=account,
            preview=True,
        )[0]
        check_preview_matches(seen_by_preview, recording)
    notes = quotas.over_default([recording])
    return SynthResult(recording, [*source.warnings, *warnings, *notes], referenced)


def _referenced_source(referrer: StackSource, name: str) -> StackSource:
    """The stack a reference names, from the referrer's project folder."""
    other = stack_name_of(name)
    role = str(referrer.config.get(f"{config.NAMESPACE}:role", ""))
    where = f"{config.NAMESPACE}:{'spokeStacks' if role == 'hub' else 'hubStack'}"
    if other == referrer.stack:
        raise ConfigError(where, f"stack {name!r} references itself")
    try:
        return load_source(other, referrer.project_dir)
    except ConfigError as err:
        raise ConfigError(
            where,
            f"stack reference {name!r} cannot be served offline: {err.problem}",
            f"add Pulumi.{other}.yaml to the project to synthesize against it",
        ) from None


def synth_stack(stack: str, project_dir: Path | None = None) -> Recording:
    """The recording of ``Pulumi.<stack>.yaml``'s offline run."""
    return synth(load_source(stack, project_dir)).recording
