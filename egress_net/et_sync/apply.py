"""Write planned ET rules into the rule groups the program declared, safely.

The function is the only writer of the *rules inside* these groups; Pulumi owns the groups
themselves and the firewall policy that references them (and ignores changes to the rules).
So a sync never creates, deletes or attaches a group, and never touches the policy.

Each group is written with ``update_rule_group`` and the UpdateToken of a describe made just
before. A token conflict (``InvalidTokenException``) means another writer (a concurrent run)
changed the group in between: the group is described again and the decision made afresh, a
bounded number of times, then the run stops. If any write fails, for any reason, the groups
already written get their previous rules back (unless another writer changed them since), so
the last applied rules stay in force.

The run also stops before a write it might not finish: Lambda ends a function that reaches its
timeout mid-run, with no chance to roll back. Before each group the writer asks how much time
is left (``context.get_remaining_time_in_millis()``) and goes on only when there is room for
that write and for rolling back every group written so far and this one; otherwise it rolls
back what it wrote and raises ``ApplyError`` like any other failed write.

Each written group's description carries a marker (ruleset version and settings digest): a
run whose marker is on every group has nothing to do, and a group replaced by ``pulumi up``
(it starts with the placeholder) or left half-written by a concurrent run is rewritten.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from egress_net.et_sync.errors import ApplyError, SyncError
from egress_net.et_sync.settings import GroupSlot

LOG = logging.getLogger(__name__)
MAX_TOKEN_RETRIES = 3
ActionKind = Literal["update", "keep"]
# Local-use sids (Suricata reserves 1,000,000-1,999,999 for local rules), one per group.
PLACEHOLDER_SID_BASE = 1_999_001
PLACEHOLDER_DESCRIPTION = "Emerging Threats Open: placeholder until the first sync (egress-net)"
# Bounds on every Network Firewall call the function makes (botocore Config, applied in
# handler.Clients.from_boto3), so the time one group can take is known. botocore's defaults
# (60 s to connect, 60 s per read, retries) would let one call run for minutes.
NFW_CONNECT_TIMEOUT_S = 2  # a regional endpoint answers a TCP connect in milliseconds
NFW_READ_TIMEOUT_S = 10  # per socket read; an UpdateRuleGroup of 2 MB answers in seconds
NFW_TOTAL_ATTEMPTS = 2  # the call and one retry (standard mode: throttling, 5xx, timeouts)
# Longest wait before that retry: standard mode's first backoff is at most 1 s
# (rand * min(2**0, 20)), and an ``x-amz-retry-after`` header adds at most 5 s
# (botocore/retries/standard.py, ExponentialBackoff.delay_amount).
NFW_RETRY_WAIT_S = 6
# A group's write, or its rollback: a DescribeRuleGroup and an UpdateRuleGroup.
CALLS_PER_GROUP = 2


def call_limit_s(
    connect_s: float = NFW_CONNECT_TIMEOUT_S,
    read_s: float = NFW_READ_TIMEOUT_S,
    attempts: int = NFW_TOTAL_ATTEMPTS,
    retry_wait_s: float = NFW_RETRY_WAIT_S,
) -> float:
    """The longest one bounded call can take: every attempt connecting and waiting its full
    read timeout, and the waits between attempts. (A server that trickles bytes slower than
    the read timeout could still stretch a read; the API does not.)"""
    return attempts * (connect_s + read_s) + (attempts - 1) * retry_wait_s


# Time reserved for one group: what its two calls can take at most, rounded up to a second.
GROUP_WRITE_BUDGET_MS = int(-(-CALLS_PER_GROUP * call_limit_s() * 1000 // 1000) * 1000)
# The function's timeout (Lambda's maximum; components/et_sync.py declares it), and what a
# run spends before its first write besides its two downloads (the md5 and the ruleset, each
# bounded by timeoutSeconds): reads of SSM and of the groups' metadata, and the plan of
# ~25,000 rules (3 s on a laptop core; Lambda's share of a core is slower).
FUNCTION_TIMEOUT_S = 900
BEFORE_WRITES_S = 60


def max_groups(
    download_timeout_s: float,
    *,
    budget_ms: int = GROUP_WRITE_BUDGET_MS,
    function_timeout_s: int = FUNCTION_TIMEOUT_S,
) -> int:
    """The most groups a run can always finish writing when the API answers promptly, even
    after two downloads that took their whole timeout: before the last of N groups the writer
    wants N + 1 budgets left (``time_needed_ms``), so more groups would make every run stop
    and roll back, forever."""
    left_ms = (function_timeout_s - 2 * download_timeout_s - BEFORE_WRITES_S) * 1000
    return int(left_ms // budget_ms) - 1


def placeholder_rules(index: int) -> str:
    """The rules an ET group holds before the first sync, or when it has nothing to hold.

    A stateful group needs at least one rule, and this one must not change any verdict:
    ``pass`` would end evaluation in strict order and let traffic through ahead of the allow
    list and the default deny; ``drop`` or ``reject`` could block real traffic. ``alert`` only
    logs, and it never fires: source and destination are the same TEST-NET-1 address
    (RFC 5737, documentation only, never routed).
    """
    sid = PLACEHOLDER_SID_BASE + index
    return (
        "alert ip 192.0.2.0/32 any -> 192.0.2.0/32 any "
        f'(msg:"egress-net ET placeholder, never matches"; sid:{sid}; rev:1;)\n'
    )


def sync_marker(version: str, fingerprint: str) -> str:
    """The description a sync writes on each group it filled (at most 512 characters)."""
    return f"Emerging Threats Open {version}, settings {fingerprint} (egress-net sync)"


class OutOfTime(Exception):
    """Too little of the function's time is left to write the next group and roll back."""


@dataclass(frozen=True)
class DesiredGroup:
    """The rules one declared ET group should hold. ``key`` is the group's name."""

    key: str
    name: str
    capacity: int
    needed_capacity: int
    rules_string: str
    rule_variables: Mapping[str, Any]
    sids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    arn: str = ""
    placeholder: bool = False


@dataclass(frozen=True)
class LiveGroup:
    """A declared ET group as Network Firewall describes it now."""

    arn: str
    name: str
    capacity: int
    update_token: str
    rule_group: Mapping[str, Any]
    description: str = ""

    @property
    def rules_string(self) -> str:
        return str(self.rule_group.get("RulesSource", {}).get("RulesString", ""))

    @property
    def rule_variables(self) -> Mapping[str, Any]:
        return self.rule_group.get("RuleVariables", {}) or {}


@dataclass
class ApplyResult:
    kinds: dict[str, ActionKind] = field(default_factory=dict)  # group name -> what happened
    updated: list[str] = field(default_factory=list)
    token_conflicts: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.updated)


def same_rules(desired: DesiredGroup, live: LiveGroup) -> bool:
    return desired.rules_string == live.rules_string and _canonical(
        desired.rule_variables
    ) == _canonical(live.rule_variables)


def _canonical(variables: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {
        kind: {name: sorted(spec.get("Definition", [])) for name, spec in sets.items()}
        for kind, sets in variables.items()
        if sets
    }


def decide(desired: DesiredGroup, live: LiveGroup, marker: str) -> ActionKind:
    """``keep`` when the group already holds these rules under this marker, else ``update``."""
    if same_rules(desired, live) and live.description == marker:
        return "keep"
    return "update"


def _error_code(err: BaseException) -> str:
    if not isinstance(err, ClientError):
        return ""
    return str(err.response.get("Error", {}).get("Code", ""))


def _refused(err: ClientError) -> bool:
    """A 4xx answer: the request was refused, nothing was written. A 5xx, or no answer at all
    (a timeout, a dropped connection), leaves it unknown."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return 400 <= int(status or 0) < 500


def rule_group_body(group: DesiredGroup) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RulesSource": {"RulesString": group.rules_string},
        # The program declares every group in strict order (rules.policy.STRICT_ORDER).
        "StatefulRuleOptions": {"RuleOrder": "STRICT_ORDER"},
    }
    if group.rule_variables:
        body["RuleVariables"] = copy.deepcopy(dict(group.rule_variables))
    return body


class GroupWriter:
    """Fills the declared ET groups through a network-firewall client."""

    def __init__(
        self,
        client: Any,
        *,
        marker: str,
        log: Callable[..., None] | None = None,
        max_token_retries: int = MAX_TOKEN_RETRIES,
        remaining_ms: Callable[[], int] | None = None,
        group_budget_ms: int = GROUP_WRITE_BUDGET_MS,
    ) -> None:
        self.client = client
        self.marker = marker
        self.max_token_retries = max_token_retries
        # The Lambda context's get_remaining_time_in_millis; None outside Lambda (no limit).
        self.remaining_ms = remaining_ms
        self.group_budget_ms = group_budget_ms
        # The group whose UpdateRuleGroup is under way, as described just before it.
        self._in_flight: LiveGroup | None = None
        self.log = log or (lambda event, **fields: LOG.info("%s %s", event, fields))

    # -- reading -----------------------------------------------------------------------------

    def read(self, arn: str) -> LiveGroup:
        response = self.client.describe_rule_group(RuleGroupArn=arn, Type="STATEFUL")
        meta = response["RuleGroupResponse"]
        return LiveGroup(
            arn=arn,
            name=str(meta["RuleGroupName"]),
            capacity=int(meta.get("Capacity", 0)),
            update_token=str(response["UpdateToken"]),
            rule_group=response.get("RuleGroup", {}),
            description=str(meta.get("Description", "")),
        )

    def stale_groups(self, slots: Sequence[GroupSlot]) -> list[str]:
        """Names of the groups that do not carry this run's marker (metadata reads only: no
        rules are downloaded). Empty when an unchanged ruleset has nothing to do."""
        stale = []
        for slot in slots:
            meta = self.client.describe_rule_group_metadata(RuleGroupArn=slot.arn, Type="STATEFUL")
            if meta.get("Description", "") != self.marker:
                stale.append(slot.name)
        return stale

    # -- writing -----------------------------------------------------------------------------

    def _write(
        self, group: DesiredGroup, result: ApplyResult, written: int
    ) -> tuple[ActionKind, LiveGroup]:
        """Write one group from a fresh describe; a token conflict re-describes and decides
        again (the other writer may already have written these very rules). Each attempt is
        a describe and an update, so the time left is checked before each one."""
        before: LiveGroup | None = None  # the group as this run first found it
        for attempt in range(self.max_token_retries + 1):
            self._check_time(group, written)
            live = self.read(group.arn)
            before = before or live
            if live.capacity < group.needed_capacity:
                raise SyncError(
                    group.arn,
                    f"the group has capacity {live.capacity} but the plan needs "
                    f"{group.needed_capacity}",
                    "run `pulumi up` so the groups match rules.emergingThreats.groupCapacity",
                )
            if decide(group, live, self.marker) == "keep":
                # After a conflict, these rules may be this run's own: an update whose answer
                # was lost (a read timeout) and whose retry then met the token it had spent.
                # Rolled back with the others should a later group fail.
                return ("update", before) if attempt else ("keep", live)
            # An update that fails may still have been applied (the answer was lost): until
            # it is known, this group is one to roll back.
            self._in_flight = live
            try:
                self.client.update_rule_group(
                    RuleGroupArn=group.arn,
                    UpdateToken=live.update_token,
                    Type="STATEFUL",
                    RuleGroup=rule_group_body(group),
                    Description=self.marker,
                )
            except ClientError as err:
                if _error_code(err) != "InvalidTokenException":
                    if _refused(err):
                        self._in_flight = None
                    raise  # otherwise still in flight: apply() rolls it back with the others
                self._in_flight = None  # refused: the token was stale, nothing written
                result.token_conflicts += 1
                self.log("token_conflict", resource=group.arn, attempt=attempt + 1)
                continue
            self._in_flight = None
            return "update", before
        raise ApplyError(
            group.arn,
            f"{self.max_token_retries + 1} token conflicts in a row: another writer keeps "
            "changing this group; stopped",
            "another sync is probably running; the next scheduled run finishes the work",
        )

    def time_needed_ms(self, written: int) -> int:
        """Room needed before the next write: the write itself, then (should it fail) the
        rollback of the ``written`` groups and of this one."""
        return self.group_budget_ms * (1 + written + 1)

    def _check_time(self, group: DesiredGroup, written: int) -> None:
        if self.remaining_ms is None:
            return
        left, needed = self.remaining_ms(), self.time_needed_ms(written)
        if left < needed:
            self.log("deadline_stop", group=group.name, remaining_ms=left, needed_ms=needed)
            raise OutOfTime(
                f"{left} ms of the function's time left, {needed} ms needed to write "
                f"{group.name} and roll back {written + 1} group(s) should it fail"
            )

    def apply(self, desired: Sequence[DesiredGroup]) -> ApplyResult:
        """Write every group; on any failure put the written ones back and raise ApplyError.
        Running out of time before a group counts as a failure: nothing is half-applied."""
        result = ApplyResult()
        written: list[LiveGroup] = []  # previous state of each group this run wrote
        step = ""
        try:
            for group in desired:
                step = group.name
                kind, previous = self._write(group, result, len(written))
                result.kinds[group.name] = kind
                if kind == "update":
                    written.append(previous)
                    result.updated.append(group.arn)
                    self.log("group_updated", group=group.name, arn=group.arn)
        except OutOfTime as err:
            self._roll_back(written)
            raise ApplyError(
                step,
                f"stopped before writing {step}: {err}; rolled back, the last applied rules "
                "stay in force",
                "raise the function's timeout (the next scheduled run tries again)",
            ) from err
        except Exception as err:  # any failure, not only AWS's: a half-applied set is worse
            # The group whose update failed too: the write may have landed all the same
            # (its rollback leaves it alone unless it carries this run's marker).
            in_flight, self._in_flight = self._in_flight, None
            self._roll_back([*written, *([in_flight] if in_flight else [])])
            raise ApplyError(
                step,
                f"writing {step} failed ({err!r}); rolled back, the last applied rules stay "
                "in force",
                "check the function's logs and the rule group's capacity",
            ) from err
        if not result.changed:
            self.log("no_changes", groups=len(desired))
        return result

    def _roll_back(self, written: Sequence[LiveGroup]) -> None:
        """Best effort, every group attempted: previous rules back, newest write first.

        A group whose description no longer carries our marker was written by someone else
        since (a concurrent run): it is left as that writer left it.
        """
        for previous in reversed(written):
            try:
                current = self.read(previous.arn)
                if current.description != self.marker:
                    self.log(
                        "rollback_skipped", arn=previous.arn, reason="changed by another writer"
                    )
                    continue
                self.client.update_rule_group(
                    RuleGroupArn=previous.arn,
                    UpdateToken=current.update_token,
                    Type="STATEFUL",
                    RuleGroup=dict(previous.rule_group),
                    Description=previous.description or PLACEHOLDER_DESCRIPTION,
                )
                self.log("rollback_restored", arn=previous.arn)
            except Exception as err:  # keep restoring the others
                self.log("rollback_failed", arn=previous.arn, error=repr(err))
