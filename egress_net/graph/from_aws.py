"""Build a ``RoutingGraph`` from live AWS accounts, read-only, with boto3.

The session carries a guard that admits exactly the operations listed in ``REQUIRED_ACTIONS``
(the IAM policy the docs give) and refuses any other before it is sent, so ``audit`` cannot
change an account, nor read what it has no use for (``GetPasswordData``,
``GetConsoleOutput``), even through a bug. Calls are
paginated and retried (adaptive retry mode). Several accounts and regions are read and merged
into one graph: spoke VPCs in their own accounts, the TGW and the firewall in the hub's.

Unlike the recording adapter, nothing is inferred: TGW associations, propagations and the
routes in TGW route tables (``SearchTransitGatewayRoutes``, static and propagated) are what AWS
reports. Firewall endpoints come from ``DescribeFirewall`` sync states, placed in an AZ through
their subnet (sync states are keyed by AZ name, which differs per account).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Network
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
)

from egress_net.errors import ConfigError
from egress_net.graph.from_recording import vpc_route
from egress_net.graph.ingress import read_load_balancers
from egress_net.graph.model import (
    EgressOnlyInternetGateway,
    FirewallEndpoint,
    InternetGateway,
    IPNetwork,
    NatGateway,
    Route,
    RouteTable,
    RoutingGraph,
    Subnet,
    TargetKind,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    TransitGateway,
    Vpc,
    VpcEndpoint,
    parse_network,
)

READ_ONLY_PREFIXES = ("Describe", "Get", "Search", "List")

# The IAM actions `audit` needs in every account it reads (docs/verification.md and the README
# list them); the session guard admits exactly these operations and nothing else.
REQUIRED_ACTIONS = (
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeEgressOnlyInternetGateways",
    "ec2:DescribeVpcEndpoints",
    "ec2:GetManagedPrefixListEntries",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeTransitGatewayAttachments",
    "ec2:DescribeTransitGatewayVpcAttachments",
    "ec2:DescribeTransitGatewayRouteTables",
    "ec2:SearchTransitGatewayRoutes",
    "ec2:GetTransitGatewayRouteTableAssociations",
    "ec2:GetTransitGatewayRouteTablePropagations",
    "network-firewall:ListFirewalls",
    "network-firewall:DescribeFirewall",
    # Ingress: every internet-facing load balancer is proven too (graph.ingress).
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
)
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure"}
_RETRIES = Config(retries={"max_attempts": 8, "mode": "adaptive"})


@dataclass(frozen=True)
class AccountSource:
    """One account and region to read: a named profile, a role to assume, or the default chain."""

    region: str
    profile: str | None = None
    role_arn: str | None = None

    @property
    def label(self) -> str:
        who = self.profile or self.role_arn or "default credentials"
        return f"{who} in {self.region}"


class WriteRefused(RuntimeError):
    """An operation outside the audit's policy reached the guard: a bug, never a user error."""


_ADMITTED = frozenset(REQUIRED_ACTIONS)


def refuse_unlisted(model: Any, **_: Any) -> None:
    """botocore ``before-call`` hook: only the operations `audit` needs may leave the process.

    The service prefix of an IAM action is the API's signing name (``ec2``,
    ``network-firewall``), see the botocore service model's ``signingName``.
    """
    service = model.service_model.signing_name
    action = f"{service}:{model.name}"
    if action not in _ADMITTED or not model.name.startswith(READ_ONLY_PREFIXES):
        raise WriteRefused(f"audit only reads what it needs; refusing {action}")


def guarded(session: boto3.Session, label: str = "AWS credentials") -> boto3.Session:
    """The session with the guard installed: every client made from it afterwards carries it
    (botocore copies the session's event hooks into each new client).

    Credentials are resolved first and pinned: a profile that assumes a role or signs in with
    IAM Identity Center fetches them through STS/SSO clients that botocore makes from this very
    session (``credentials.py``: ``client_creator=session.create_client``), which the guard
    would refuse (``sts:AssumeRole``), and those calls are not the audit's to make later.
    """
    credentials = session.get_credentials()
    if credentials is not None:
        try:
            frozen = credentials.get_frozen_credentials()
        except (ClientError, BotoCoreError) as err:
            raise ConfigError(
                label,
                f"cannot get credentials: {err}",
                "check the profile (`aws sts get-caller-identity --profile NAME`); for "
                "IAM Identity Center, run `aws sso login` first",
            ) from None
        # boto3 keeps its botocore session private; set_credentials is botocore's public API.
        session._session.set_credentials(frozen.access_key, frozen.secret_key, frozen.token)
    session.events.register("before-call.*.*", refuse_unlisted)
    return session


def session_for(source: AccountSource) -> boto3.Session:
    try:
        session = boto3.Session(profile_name=source.profile, region_name=source.region)
    except ProfileNotFound:
        raise ConfigError(
            f"--profile {source.profile}",
            "no such AWS profile",
            "list profiles with `aws configure list-profiles`",
        ) from None
    if source.role_arn is None:
        return session
    sts = session.client("sts", config=_RETRIES)
    try:
        creds = sts.assume_role(RoleArn=source.role_arn, RoleSessionName="egress-net-audit")
    except (ClientError, BotoCoreError) as err:
        raise ConfigError(
            f"--role-arn {source.role_arn}",
            f"cannot assume the role: {err}",
            "the caller needs sts:AssumeRole and the role's trust policy must allow it",
        ) from None
    c = creds["Credentials"]
    return boto3.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name=source.region,
    )


@dataclass
class _Reader:
    """Calls one client with the error handling every read shares."""

    client: Any
    label: str
    service: str

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        with self._user_errors(operation):
            return getattr(self.client, xform_name(operation))(**kwargs)  # type: ignore[no-any-return]

    def pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        name = xform_name(operation)
        if not self.client.can_paginate(name):
            yield from self.call(operation, **kwargs).get(key, [])
            return
        with self._user_errors(operation):
            for page in self.client.get_paginator(name).paginate(**kwargs):
                yield from page.get(key, [])

    @contextmanager
    def _user_errors(self, operation: str) -> Iterator[None]:
        """Turn what a user can fix (permissions, credentials, reachability) into ConfigError."""
        where = f"{self.label}: {self.service}:{operation}"
        try:
            yield
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in _DENIED_CODES:
                raise ConfigError(
                    where,
                    "access denied",
                    "grant the read-only actions `audit` needs: " + ", ".join(REQUIRED_ACTIONS),
                ) from None
            raise ConfigError(where, str(err)) from None
        except NoCredentialsError:
            raise ConfigError(
                self.label, "no AWS credentials found", "pass --profile or --role-arn"
            ) from None
        except EndpointConnectionError as err:
            raise ConfigError(where, f"cannot reach AWS: {err}") from None


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in item.get("Tags") or []}


@dataclass
class _Pending:
    """What can only be placed once every account is read (endpoints need their subnets)."""

    sync_states: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Firewalls attached natively to a TGW: (attachment ID, TGW ID, AZ IDs).
    tgw_firewalls: list[tuple[str, str, list[str]]] = field(default_factory=list)


def read_graph(
    sources: list[AccountSource],
    endpoint_url: str | None = None,
    session_factory: Callable[[AccountSource], boto3.Session] = session_for,
) -> RoutingGraph:
    """Read every account/region and merge them into one graph."""
    graph = RoutingGraph()
    pending = _Pending()
    for source in sources:
        session = guarded(session_factory(source), source.label)
        ec2 = _client(session, "ec2", source, endpoint_url)
        nfw = _client(session, "network-firewall", source, endpoint_url)
        _read_vpc_side(graph, ec2)
        _read_transit_gateways(graph, ec2)
        _read_firewalls(pending, nfw, ec2)
        elb = _client(session, "elbv2", source, endpoint_url)
        graph.load_balancers += read_load_balancers(elb.client, source.label)
    for firewall, states in pending.sync_states:
        for endpoint in _endpoints_from_sync_states(graph, firewall, states):
            graph.firewall_endpoints[endpoint.id] = endpoint
    for attachment_id, tgw_id, az_ids in pending.tgw_firewalls:
        attachment = graph.tgw_attachments.setdefault(
            attachment_id, TgwAttachment(attachment_id, tgw_id, "network-function")
        )
        attachment.az_ids = az_ids
    graph.mark_gateway_endpoints()
    graph.invalidate()
    return graph


def _client(
    session: boto3.Session, service: str, source: AccountSource, url: str | None
) -> _Reader:
    client = session.client(service, region_name=source.region, endpoint_url=url, config=_RETRIES)
    return _Reader(client, source.label, service)


def _read_vpc_side(graph: RoutingGraph, ec2: _Reader) -> None:
    for item in ec2.pages("DescribeVpcs", "Vpcs"):
        cidrs: list[IPNetwork] = [
            parse_network(a["CidrBlock"])
            for a in item.get("CidrBlockAssociationSet") or []
            if _associated(a, "CidrBlockState")
        ] or [parse_network(item["CidrBlock"])]
        cidrs += [
            parse_network(a["Ipv6CidrBlock"])
            for a in item.get("Ipv6CidrBlockAssociationSet") or []
            if a.get("Ipv6CidrBlock") and _associated(a, "Ipv6CidrBlockState")
        ]
        tags = _tags(item)
        graph.vpcs[item["VpcId"]] = Vpc(item["VpcId"], cidrs, tags.get("Name", ""), tags=tags)
    for item in ec2.pages("DescribeSubnets", "Subnets"):
        if not item.get("CidrBlock"):
            graph.untraced.append(
                f"IPv6-only subnet {item['SubnetId']} in {item['VpcId']}: the graph holds "
                "subnets with an IPv4 block only, so its paths are not proven"
            )
            continue
        ipv6 = [
            a["Ipv6CidrBlock"]
            for a in item.get("Ipv6CidrBlockAssociationSet") or []
            if a.get("Ipv6CidrBlock") and _associated(a, "Ipv6CidrBlockState")
        ]
        graph.subnets[item["SubnetId"]] = Subnet(
            item["SubnetId"],
            item["VpcId"],
            parse_network(item["CidrBlock"]),
            item.get("AvailabilityZoneId") or item.get("AvailabilityZone", ""),
            tags=_tags(item),
            ipv6_cidr=IPv6Network(ipv6[0]) if ipv6 else None,
        )
    for item in ec2.pages("DescribeInternetGateways", "InternetGateways"):
        for attachment in item.get("Attachments") or []:
            graph.internet_gateways[item["InternetGatewayId"]] = InternetGateway(
                item["InternetGatewayId"], attachment["VpcId"]
            )
    for item in ec2.pages("DescribeEgressOnlyInternetGateways", "EgressOnlyInternetGateways"):
        for attachment in item.get("Attachments") or []:
            if attachment.get("State", "attached") == "attached":
                gateway_id = item["EgressOnlyInternetGatewayId"]
                graph.egress_only_gateways[gateway_id] = EgressOnlyInternetGateway(
                    gateway_id, attachment["VpcId"]
                )
    for item in ec2.pages("DescribeVpcEndpoints", "VpcEndpoints"):
        if item.get("State", "available").lower() in ("deleted", "deleting", "failed", "rejected"):
            continue
        graph.vpc_endpoints[item["VpcEndpointId"]] = VpcEndpoint(
            item["VpcEndpointId"],
            item.get("VpcId", ""),
            item.get("ServiceName", ""),
            item.get("VpcEndpointType", "Gateway"),
            has_policy=_restrictive_policy(item.get("PolicyDocument")),
        )
    nat_filter = [{"Name": "state", "Values": ["available", "pending"]}]
    for item in ec2.pages("DescribeNatGateways", "NatGateways", Filters=nat_filter):
        addresses = [a for a in item.get("NatGatewayAddresses") or [] if a.get("PrivateIp")]
        if not addresses:
            continue
        public = addresses[0].get("PublicIp")
        graph.nat_gateways[item["NatGatewayId"]] = NatGateway(
            item["NatGatewayId"],
            item["SubnetId"],
            IPv4Address(addresses[0]["PrivateIp"]),
            IPv4Address(public) if public and item.get("ConnectivityType") != "private" else None,
        )
    prefix_lists: dict[str, list[str]] = {}
    for item in ec2.pages("DescribeRouteTables", "RouteTables"):
        table = RouteTable(item["RouteTableId"], item["VpcId"])
        graph.route_tables[table.id] = table
        for route in item.get("Routes") or []:
            for entry in _live_route(route, prefix_lists, ec2):
                table.add(entry)
        for association in item.get("Associations") or []:
            if association.get("AssociationState", {}).get("State", "associated") != "associated":
                continue
            if association.get("Main"):
                if item["VpcId"] in graph.vpcs:
                    graph.vpcs[item["VpcId"]].main_route_table_id = table.id
            elif association.get("SubnetId") in graph.subnets:
                graph.subnets[association["SubnetId"]].route_table_id = table.id
            elif association.get("GatewayId") in graph.internet_gateways:
                graph.internet_gateways[association["GatewayId"]].edge_route_table_id = table.id


_GONE = ("disassociating", "disassociated", "failing", "failed")


def _associated(association: dict[str, Any], state_key: str) -> bool:
    """A CIDR block counts unless it is leaving or failed (VpcCidrBlockState in the EC2 API
    reference; "associating" blocks are about to route)."""
    state = str((association.get(state_key) or {}).get("State", "associated"))
    return not any(gone in state for gone in _GONE)


def _restrictive_policy(document: Any) -> bool:
    """Whether an endpoint policy is narrower than the default (any principal, any action)."""
    import json

    if not document:
        return False
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return True
    statements = policy.get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    for statement in statements:
        if (
            statement.get("Effect") == "Allow"
            and statement.get("Principal") in ("*", {"AWS": "*"})
            and statement.get("Action") in ("*", ["*"])
            and statement.get("Resource") in ("*", ["*"])
            and not statement.get("Condition")
        ):
            return False
    return True


def _live_route(
    route: dict[str, Any], prefix_lists: dict[str, list[str]], ec2: _Reader
) -> list[Route]:
    if route.get("State") == "blackhole":
        # A route whose target was deleted (a NAT gateway, an endpoint) drops traffic.
        destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
        return [Route(parse_network(destination), TargetKind.BLACKHOLE)] if destination else []
    list_id = route.get("DestinationPrefixListId")
    if list_id:
        _prefix_list_entries(ec2, list_id, prefix_lists)
    properties = {k[0].lower() + k[1:]: v for k, v in route.items()}
    # The API's name for the target; the recording's (Pulumi's) name is egressOnlyGatewayId.
    properties["egressOnlyGatewayId"] = properties.pop("egressOnlyInternetGatewayId", None)
    return vpc_route(properties, prefix_lists, "destinationCidrBlock", "destinationIpv6CidrBlock")


def _read_transit_gateways(graph: RoutingGraph, ec2: _Reader) -> None:
    for item in ec2.pages("DescribeTransitGateways", "TransitGateways"):
        if item.get("State") in ("deleted", "deleting"):
            continue
        options = item.get("Options") or {}
        graph.transit_gateways.setdefault(
            item["TransitGatewayId"],
            TransitGateway(
                item["TransitGatewayId"],
                options.get("AssociationDefaultRouteTableId", "")
                if options.get("DefaultRouteTableAssociation") == "enable"
                else "",
                options.get("PropagationDefaultRouteTableId", "")
                if options.get("DefaultRouteTablePropagation") == "enable"
                else "",
            ),
        )
    live = [{"Name": "state", "Values": ["available", "pendingAcceptance", "modifying"]}]
    for item in ec2.pages(
        "DescribeTransitGatewayAttachments", "TransitGatewayAttachments", Filters=live
    ):
        attachment = graph.tgw_attachments.setdefault(
            item["TransitGatewayAttachmentId"],
            TgwAttachment(item["TransitGatewayAttachmentId"], item["TransitGatewayId"]),
        )
        attachment.resource_type = item.get("ResourceType", "vpc")
        if attachment.resource_type == "vpc":
            attachment.vpc_id = item.get("ResourceId", "")
        association = item.get("Association") or {}
        if association.get("State") == "associated":
            attachment.route_table_id = association["TransitGatewayRouteTableId"]
    for item in ec2.pages(
        "DescribeTransitGatewayVpcAttachments", "TransitGatewayVpcAttachments", Filters=live
    ):
        attachment = graph.tgw_attachments.setdefault(
            item["TransitGatewayAttachmentId"],
            TgwAttachment(item["TransitGatewayAttachmentId"], item["TransitGatewayId"]),
        )
        attachment.vpc_id = item["VpcId"]
        attachment.subnet_ids = list(item.get("SubnetIds") or [])
        attachment.appliance_mode = (item.get("Options") or {}).get(
            "ApplianceModeSupport"
        ) == "enable"
    prefix_lists: dict[str, list[str]] = {}
    for item in ec2.pages("DescribeTransitGatewayRouteTables", "TransitGatewayRouteTables"):
        if item.get("State") in ("deleted", "deleting"):
            continue
        table = TgwRouteTable(
            item["TransitGatewayRouteTableId"],
            item["TransitGatewayId"],
            name=_tags(item).get("Name", ""),
        )
        graph.tgw_route_tables[table.id] = table
        for route in _search_tgw_routes(ec2, table.id, prefix_lists):
            table.add(route)
        for association in ec2.pages(
            "GetTransitGatewayRouteTableAssociations",
            "Associations",
            TransitGatewayRouteTableId=table.id,
        ):
            attachment = graph.tgw_attachments.get(association["TransitGatewayAttachmentId"])
            if attachment is not None and association.get("State", "associated") == "associated":
                attachment.route_table_id = table.id
        for propagation in ec2.pages(
            "GetTransitGatewayRouteTablePropagations",
            "TransitGatewayRouteTablePropagations",
            TransitGatewayRouteTableId=table.id,
        ):
            if propagation.get("State", "enabled") == "enabled":
                table.propagations.add(propagation["TransitGatewayAttachmentId"])


def _search_tgw_routes(
    ec2: _Reader, table_id: str, prefix_lists: dict[str, list[str]] | None = None
) -> list[TgwRoute]:
    """Every active and blackhole route of a TGW route table, static and propagated, and one
    route per entry of each prefix-list reference (a route whose destination is a prefix list:
    it routes those addresses like any other, so it is traced like any other)."""
    prefix_lists = {} if prefix_lists is None else prefix_lists
    routes: dict[tuple[str, str], TgwRoute] = {}
    for route_type in ("static", "propagated"):
        for item in _search_within(ec2, table_id, route_type, parse_network("0.0.0.0/0")):
            targets = item.get("TransitGatewayAttachments") or []
            blackhole = item.get("State") == "blackhole" or not targets
            attachment_id = "" if blackhole else targets[0]["TransitGatewayAttachmentId"]
            destination = item.get("DestinationCidrBlock")  # IPv4 or IPv6
            list_id = item.get("PrefixListId")
            if not destination and list_id:
                for cidr in _prefix_list_entries(ec2, list_id, prefix_lists):
                    routes[(cidr, list_id)] = TgwRoute(
                        parse_network(cidr), attachment_id, blackhole, origin="prefix-list"
                    )
                continue
            if not destination:
                continue
            routes[(destination, route_type)] = TgwRoute(
                parse_network(destination),
                attachment_id=attachment_id,
                blackhole=blackhole,
                origin=item.get("Type", route_type),
            )
    return list(routes.values())


def _prefix_list_entries(
    ec2: _Reader, list_id: str, prefix_lists: dict[str, list[str]]
) -> list[str]:
    if list_id not in prefix_lists:
        prefix_lists[list_id] = [
            e["Cidr"]
            for e in ec2.pages("GetManagedPrefixListEntries", "Entries", PrefixListId=list_id)
        ]
    return prefix_lists[list_id]


def _search_within(
    ec2: _Reader, table_id: str, route_type: str, within: IPNetwork
) -> list[dict[str, Any]]:
    """Routes of one type inside ``within``, splitting the range while a search is truncated.

    SearchTransitGatewayRoutes has no pagination: it returns at most 1000 routes and says
    whether more exist. A table of a thousand spokes has more, so the search is repeated on
    each half of the address range (``route-search.subnet-of-match``), and routes exactly
    equal to the range are found with ``route-search.exact-match``.
    """
    base = [
        {"Name": "type", "Values": [route_type]},
        {"Name": "state", "Values": ["active", "blackhole"]},
    ]
    everything = within.prefixlen == 0 and within.version == 4
    scoped = (
        base
        if everything
        else [*base, {"Name": "route-search.subnet-of-match", "Values": [str(within)]}]
    )
    # No MaxResults: its default is already the maximum, 1000.
    answer = ec2.call(
        "SearchTransitGatewayRoutes", TransitGatewayRouteTableId=table_id, Filters=scoped
    )
    if not answer.get("AdditionalRoutesAvailable"):
        return list(answer.get("Routes") or [])
    # Prefix-list references have no CIDR for the narrower searches below to match: keep
    # those this answer holds.
    references = [r for r in answer.get("Routes") or [] if r.get("PrefixListId")]
    if within.prefixlen >= within.max_prefixlen:
        raise ConfigError(f"{ec2.label}: {table_id}", f"cannot list the routes for {within}")
    exact = ec2.call(
        "SearchTransitGatewayRoutes",
        TransitGatewayRouteTableId=table_id,
        Filters=[*base, {"Name": "route-search.exact-match", "Values": [str(within)]}],
    )
    found = references + list(exact.get("Routes") or [])
    for half in within.subnets(prefixlen_diff=1):
        found += _search_within(ec2, table_id, route_type, half)
    if everything:  # the unscoped search also held IPv6 routes: search their space too
        found += _search_within(ec2, table_id, route_type, parse_network("::/0"))
    return found


def _read_firewalls(pending: _Pending, nfw: _Reader, ec2: _Reader) -> None:
    zone_ids: dict[str, str] | None = None
    for summary in nfw.pages("ListFirewalls", "Firewalls"):
        answer = nfw.call("DescribeFirewall", FirewallArn=summary["FirewallArn"])
        status = answer.get("FirewallStatus") or {}
        pending.sync_states.append(
            (summary.get("FirewallName", ""), status.get("SyncStates") or {})
        )
        firewall = answer.get("Firewall") or {}
        attachment_id = (status.get("TransitGatewayAttachmentSyncState") or {}).get("AttachmentId")
        if firewall.get("TransitGatewayId") and attachment_id:
            if zone_ids is None:
                zone_ids = _zone_ids_by_name(ec2)
            zones = [m["AvailabilityZone"] for m in firewall.get("AvailabilityZoneMappings") or []]
            # The mapping may give a zone's name or its ID; the graph keys by ID.
            az_ids = [zone_ids.get(zone, zone) for zone in zones]
            pending.tgw_firewalls.append((attachment_id, firewall["TransitGatewayId"], az_ids))


def _zone_ids_by_name(ec2: _Reader) -> dict[str, str]:
    zones = ec2.call("DescribeAvailabilityZones").get("AvailabilityZones") or []
    return {z["ZoneName"]: z["ZoneId"] for z in zones}


def _endpoints_from_sync_states(
    graph: RoutingGraph, firewall: str, sync_states: dict[str, Any]
) -> list[FirewallEndpoint]:
    """Endpoints placed by their subnet's AZ ID; the AZ-name keys are not used."""
    endpoints = []
    for state in sync_states.values():
        attachment = state.get("Attachment") or {}
        subnet = graph.subnets.get(attachment.get("SubnetId", ""))
        if attachment.get("EndpointId") and subnet is not None:
            endpoints.append(
                FirewallEndpoint(attachment["EndpointId"], firewall, subnet.id, subnet.az_id)
            )
    return endpoints
