"""Cross-account Transit Gateway attachments, as AWS allows them: shared first, then accepted.

A VPC in one account can attach to a TGW another account owns only once the owner shares the
TGW with it through AWS RAM; otherwise ``CreateTransitGatewayVpcAttachment`` answers
``InvalidTransitGatewayID.NotFound`` (Transit Gateway guide, "Sharing a transit gateway":
"the transit gateway owner must share the transit gateway with the other account"). The
attachment then waits in ``pendingAcceptance`` until the owner accepts it, unless the TGW
accepts shared attachments automatically (``AutoAcceptSharedAttachments``), and a waiting
attachment carries no traffic.

Pure: reads the recordings of a stack and the stacks it references. Accounts the recordings
do not know (a stack without ``accountId`` runs as a placeholder) are not compared: whether
two such stacks share an account is not known offline.
"""

from __future__ import annotations

from collections.abc import Iterable

from egress_net.offline import OfflineCheckError
from egress_net.recording import RecordedResource, Recording

_TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
_ACCEPTER = "aws:ec2transitgateway/vpcAttachmentAccepter:VpcAttachmentAccepter"
_RESOURCE_ASSOCIATION = "aws:ram/resourceAssociation:ResourceAssociation"
_PRINCIPAL_ASSOCIATION = "aws:ram/principalAssociation:PrincipalAssociation"


def _known_account(resource: RecordedResource, recording: Recording) -> str | None:
    """The resource's account, or None when it is the placeholder of a stack naming none."""
    if resource.account == recording.account and not recording.account_known:
        return None
    return resource.account or None


def _shared_with(tgw: RecordedResource, account: str, recordings: Iterable[Recording]) -> bool:
    """Is the TGW in a RAM share whose principals cover ``account``? An organization or OU
    principal covers it as far as anything offline can tell (membership is not known)."""
    resources = [r for rec in recordings for r in rec]
    shares = {
        r.inputs.get("resourceShareArn")
        for r in resources
        if r.type == _RESOURCE_ASSOCIATION and r.inputs.get("resourceArn") == tgw.get("arn")
    }
    return any(
        r.type == _PRINCIPAL_ASSOCIATION
        and r.inputs.get("resourceShareArn") in shares
        and (r.inputs.get("principal") == account or ":organizations::" in r.inputs["principal"])
        for r in resources
    )


def _routes_through(rec: Recording, tgw_id: str) -> bool:
    """Does the recording declare a VPC route whose target is the TGW?"""
    return any(
        r.inputs.get("transitGatewayId") == tgw_id for r in rec.of_type("aws:ec2/route:Route")
    )


def cross_account_problems(recordings: list[Recording]) -> list[str]:
    """What AWS would refuse or leave pending among the attachments of these recordings."""
    tgws = {r.id: (r, rec) for rec in recordings for r in rec if r.type == _TGW}
    accepted = {
        r.inputs.get("transitGatewayAttachmentId")
        for rec in recordings
        for r in rec.of_type(_ACCEPTER)
    }
    problems: list[str] = []
    for rec in recordings:
        for attachment in rec.of_type(_ATTACHMENT):
            owner = tgws.get(attachment.inputs.get("transitGatewayId", ""))
            if owner is None:
                continue
            tgw, tgw_rec = owner
            mine, theirs = _known_account(attachment, rec), _known_account(tgw, tgw_rec)
            if mine is None or theirs is None or mine == theirs:
                continue
            where = f"{attachment.urn} (account {mine}) → {tgw.id} (account {theirs})"
            if not _shared_with(tgw, mine, recordings):
                problems.append(
                    f"{where}: the TGW is not shared with account {mine} through RAM; AWS "
                    "answers InvalidTransitGatewayID.NotFound. Add the account (or its "
                    "organization) to the hub's egress-net:share.principals"
                )
            elif (
                tgw.get("autoAcceptSharedAttachments") != "enable"
                and attachment.id not in accepted
                and _routes_through(rec, tgw.id)
            ):
                # A pending attachment is no error in itself (the spoke stack reports it and
                # routes nothing through it); a route to the TGW over it is refused.
                problems.append(
                    f"{where}: the attachment stays pendingAcceptance (the TGW does not accept "
                    "shared attachments automatically and nothing accepts it), and AWS refuses "
                    "a route to the TGW over it. List the spoke stack in the hub's "
                    "egress-net:spokeStacks, or declare the spoke in the hub stack"
                )
    return problems


def check_cross_account(recordings: list[Recording]) -> None:
    problems = cross_account_problems(recordings)
    if problems:
        raise OfflineCheckError(
            f"stack {recordings[0].stack}",
            "a Transit Gateway attachment across accounts would fail:\n    "
            + "\n    ".join(problems),
        )
