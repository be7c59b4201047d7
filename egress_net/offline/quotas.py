"""AWS's default quotas per account and Region, against what stacks declare together.

A new account's quotas are small: five VPCs, five Elastic IP addresses, five Transit Gateways
per Region. A stack (or several stacks sharing an account, as when the examples are copied into
one sandbox account) that needs more fails its first `pulumi up` half-way (``VpcLimitExceeded``,
``AddressLimitExceeded``, ``TransitGatewayLimitExceeded``) unless the quota was raised first.
Quotas are adjustable and nothing offline knows an account's values, so these are notes to act
on before `up` (Service Quotas: request an increase), not refusals.

Pure: counts recorded resources per account and Region.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from egress_net.recording import RecordedResource, Recording


@dataclass(frozen=True)
class Quota:
    type: str
    what: str
    default: int
    source: str


# Default values, all adjustable (Service Quotas).
QUOTAS: tuple[Quota, ...] = (
    Quota("aws:ec2/vpc:Vpc", "VPCs", 5, 'Amazon VPC quotas, "VPCs per Region"'),
    Quota(
        "aws:ec2/internetGateway:InternetGateway",
        "internet gateways",
        5,
        'Amazon VPC quotas, "Internet gateways per Region"',
    ),
    Quota(
        "aws:ec2/eip:Eip",
        "Elastic IP addresses",
        5,
        'Amazon EC2 user guide, "Elastic IP address quota": five per Region',
    ),
    Quota(
        "aws:ec2transitgateway/transitGateway:TransitGateway",
        "transit gateways",
        5,
        'Transit Gateway quotas, "Transit gateways per account" (per Region)',
    ),
)


def _region(resource: RecordedResource, recording: Recording) -> str:
    # pulumi-aws v7 resources may name their own region.
    return str(resource.inputs.get("region") or recording.config.get("aws:region", ""))


Usage = Counter[tuple[str, str, str]]  # (account, region, type) → count
SHARED = ("", "")  # the account and region of every stack in a shared pass


def usage(recordings: Iterable[Recording], *, shared: bool = False) -> Usage:
    """(account, region, type) → count. ``shared``: every stack's own account and region are
    one; accounts reached through an assumed role stay apart."""
    counted = {q.type for q in QUOTAS}
    found: Usage = Counter()
    for rec in recordings:
        for r in rec:
            if r.type not in counted or not r.custom:
                continue
            account, region = r.account or rec.account, _region(r, rec)
            if account == rec.account and not rec.account_known:
                account = f"(of stack {rec.stack})"  # a placeholder: no number to show
            if shared and (r.account or rec.account) == rec.account:
                account, region = SHARED
            found[(account, region, r.type)] += 1
    return found


def over_default(recordings: Iterable[Recording], *, shared: bool = False) -> list[str]:
    """A note per account, Region and type that needs more than AWS's default quota."""
    by_type = {q.type: q for q in QUOTAS}
    notes = []
    for (account, region, type_), count in sorted(usage(recordings, shared=shared).items()):
        quota = by_type[type_]
        if count > quota.default:
            where = "" if (account, region) == SHARED else f" in account {account}, {region}"
            notes.append(
                f"{count} {quota.what}{where}: AWS's default quota is {quota.default} "
                f"[{quota.source}]; raise it (Service Quotas) before `pulumi up`"
            )
    return notes
