"""Apply a planned set of ET rule groups to a Network Firewall policy, safely.

Order of work, chosen so that a failure at any step leaves the last applied rules in force:

1. read the policy and the ET groups it references (with their UpdateTokens and rules);
2. create every new group (new slots, and replacements of groups that must grow: a rule
   group's capacity is fixed at creation) — nothing references them yet;
3. update the groups that still fit, in place, each with its current UpdateToken;
4. switch the policy (one ``update_firewall_policy``): attach the new groups, detach the old;
5. only then delete the groups the policy no longer references.

If 2–4 fail, the groups updated in 3 get their previous rules back and the groups created in 2
are deleted; the policy was not switched, so the previous groups are still attached. Stale
UpdateTokens (someone else changed the resource) are re-read and retried a few times.
A failed delete in 5 is reported as a leftover, not rolled back: the new rules are in force.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from egress_net.et_sync.errors import ApplyError, SyncError

LOG = logging.getLogger(__name__)
KEY_TAG = "egress-net:et-key"
MAX_TOKEN_RETRIES = 3
ActionKind = Literal["create", "update", "replace", "delete", "keep"]


@dataclass(frozen=True)
class DesiredGroup:
    """One ET rule group as the plan wants it. ``key`` is stable across runs."""

    key: str
    name: str
    capacity: int
    needed_capacity: int
    rules_string: str
    rule_variables: Mapping[str, Any]
    sids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiveGroup:
    """An ET rule group the policy references now."""

    key: str
    name: str
    arn: str
    capacity: int
    update_token: str
    rule_group: Mapping[str, Any]
    reference: Mapping[str, Any]

    @property
    def rules_string(self) -> str:
        return str(self.rule_group.get("RulesSource", {}).get("RulesString", ""))

    @property
    def rule_variables(self) -> Mapping[str, Any]:
        return self.rule_group.get("RuleVariables", {}) or {}


@dataclass(frozen=True)
class GroupAction:
    kind: ActionKind
    key: str
    desired: DesiredGroup | None = None
    live: LiveGroup | None = None


@dataclass
class ApplyResult:
    actions: list[GroupAction]
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    policy_updated: bool = False
    arns_by_key: dict[str, str] = field(default_factory=dict)
    names_by_key: dict[str, str] = field(default_factory=dict)
    capacity_by_key: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(action.kind != "keep" for action in self.actions)


def group_name_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def is_et_group(arn: str, name_prefix: str) -> bool:
    return ":stateful-rulegroup/" in arn and group_name_from_arn(arn).startswith(name_prefix)


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


def diff_groups(desired: Sequence[DesiredGroup], live: Sequence[LiveGroup]) -> list[GroupAction]:
    """What to do per key: a live group that is too small for its rules is replaced."""
    live_by_key = {group.key: group for group in live}
    actions: list[GroupAction] = []
    for group in desired:
        current = live_by_key.pop(group.key, None)
        if current is None:
            actions.append(GroupAction("create", group.key, desired=group))
        elif current.capacity < group.needed_capacity:
            actions.append(GroupAction("replace", group.key, desired=group, live=current))
        elif same_rules(group, current):
            actions.append(GroupAction("keep", group.key, desired=group, live=current))
        else:
            actions.append(GroupAction("update", group.key, desired=group, live=current))
    for key, current in sorted(live_by_key.items()):
        actions.append(GroupAction("delete", key, live=current))
    return actions


def rewrite_references(
    references: Sequence[Mapping[str, Any]],
    *,
    swap: Mapping[str, str],
    remove: set[str],
    add: Sequence[str],
    strict_order: bool,
    priority_start: int,
) -> list[dict[str, Any]]:
    """The policy's stateful group references after the switch; other groups are untouched.

    A replacement takes the old group's place (and priority); groups for new slots get the
    next free priorities from ``priority_start`` when the policy uses strict order.
    """
    result: list[dict[str, Any]] = []
    for ref in references:
        arn = ref["ResourceArn"]
        if arn in remove:
            continue
        new = dict(ref)
        new["ResourceArn"] = swap.get(arn, arn)
        result.append(new)
    taken = {ref["Priority"] for ref in result if "Priority" in ref}
    priority = priority_start
    for arn in add:
        new_ref: dict[str, Any] = {"ResourceArn": arn}
        if strict_order:
            while priority in taken:
                priority += 1
            if priority > 65535:
                raise SyncError(arn, "no free rule group priority left", "lower priorityStart")
            new_ref["Priority"] = priority
            taken.add(priority)
        result.append(new_ref)
    return result


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


class PolicyApplier:
    """Applies desired groups to one firewall policy through a network-firewall client."""

    def __init__(
        self,
        client: Any,
        *,
        policy_arn: str,
        name_prefix: str,
        priority_start: int = 1_000,  # rules.policy.ET_PRIORITY_MIN: after the hub's groups
        tags: Mapping[str, str] | None = None,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.client = client
        self.policy_arn = policy_arn
        self.name_prefix = name_prefix
        self.priority_start = priority_start
        self.tags = dict(tags or {})
        self.log = log or (lambda event, **fields: LOG.info("%s %s", event, fields))

    # -- reading -----------------------------------------------------------------------------

    def read_policy(self) -> tuple[dict[str, Any], str]:
        response = self.client.describe_firewall_policy(FirewallPolicyArn=self.policy_arn)
        return response["FirewallPolicy"], response["UpdateToken"]

    def rule_order(self, policy: Mapping[str, Any]) -> str:
        return str(policy.get("StatefulEngineOptions", {}).get("RuleOrder", "DEFAULT_ACTION_ORDER"))

    def references_et_groups(self) -> bool:
        """Whether the policy still references any ET group (one cheap read)."""
        policy, _token = self.read_policy()
        refs = policy.get("StatefulRuleGroupReferences", [])
        return any(is_et_group(ref["ResourceArn"], self.name_prefix) for ref in refs)

    def read_live_groups(self, policy: Mapping[str, Any]) -> list[LiveGroup]:
        groups = []
        for ref in policy.get("StatefulRuleGroupReferences", []):
            arn = ref["ResourceArn"]
            if not is_et_group(arn, self.name_prefix):
                continue
            response = self.client.describe_rule_group(RuleGroupArn=arn)
            meta = response["RuleGroupResponse"]
            tags = {tag["Key"]: tag["Value"] for tag in meta.get("Tags", [])}
            groups.append(
                LiveGroup(
                    key=tags.get(KEY_TAG, meta["RuleGroupName"]),
                    name=meta["RuleGroupName"],
                    arn=arn,
                    capacity=int(meta.get("Capacity", 0)),
                    update_token=response["UpdateToken"],
                    rule_group=response.get("RuleGroup", {}),
                    reference=ref,
                )
            )
        return groups

    # -- writing -----------------------------------------------------------------------------

    def _rule_group_body(self, group: DesiredGroup, rule_order: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "RulesSource": {"RulesString": group.rules_string},
            "StatefulRuleOptions": {"RuleOrder": rule_order},
        }
        if group.rule_variables:
            body["RuleVariables"] = copy.deepcopy(dict(group.rule_variables))
        return body

    def _create(self, group: DesiredGroup, rule_order: str) -> str:
        tags = [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]
        tags.append({"Key": KEY_TAG, "Value": group.key})
        body = self._rule_group_body(group, rule_order)
        try:
            response = self.client.create_rule_group(
                RuleGroupName=group.name,
                Type="STATEFUL",
                Capacity=group.capacity,
                RuleGroup=body,
                Description=f"Emerging Threats Open, managed by egress-net ({group.key})",
                Tags=tags,
            )
        except ClientError as err:
            adopted = self._adopt_orphan(group, body, err)
            if adopted is None:
                raise
            return adopted
        return str(response["RuleGroupResponse"]["RuleGroupArn"])

    def _adopt_orphan(
        self, group: DesiredGroup, body: Mapping[str, Any], err: ClientError
    ) -> str | None:
        """Reuse a detached group of ours left by an earlier run (a delete that failed).

        Without this, a leftover with the planned name would make every later create, and so
        every later sync, fail. Only a group carrying our key tag and enough capacity is
        reused; anything else keeps the original error.
        """
        message = str(err.response.get("Error", {}).get("Message", "")).lower()
        if _error_code(err) != "InvalidRequestException" or "already exists" not in message:
            return None
        found = self.client.describe_rule_group(RuleGroupName=group.name, Type="STATEFUL")
        meta = found["RuleGroupResponse"]
        tags = {tag["Key"]: tag["Value"] for tag in meta.get("Tags", [])}
        if tags.get(KEY_TAG) != group.key or int(meta.get("Capacity", 0)) < group.needed_capacity:
            return None
        arn = str(meta["RuleGroupArn"])
        self._update_group(arn, found["UpdateToken"], body)
        self.log("orphan_adopted", key=group.key, arn=arn)
        return arn

    def _update_group(self, arn: str, token: str, body: Mapping[str, Any]) -> None:
        """``update_rule_group`` with the given token; a stale token is re-read and retried."""
        for attempt in range(MAX_TOKEN_RETRIES + 1):
            try:
                self.client.update_rule_group(
                    RuleGroupArn=arn, UpdateToken=token, Type="STATEFUL", RuleGroup=dict(body)
                )
                return
            except ClientError as err:
                if _error_code(err) != "InvalidTokenException" or attempt == MAX_TOKEN_RETRIES:
                    raise
                self.log("stale_update_token", resource=arn, attempt=attempt + 1)
                token = self.client.describe_rule_group(RuleGroupArn=arn)["UpdateToken"]

    def _switch_policy(
        self,
        policy: dict[str, Any],
        token: str,
        swap: Mapping[str, str],
        remove: set[str],
        add: Sequence[str],
    ) -> None:
        for attempt in range(MAX_TOKEN_RETRIES + 1):
            strict = self.rule_order(policy) == "STRICT_ORDER"
            updated = copy.deepcopy(policy)
            updated["StatefulRuleGroupReferences"] = rewrite_references(
                policy.get("StatefulRuleGroupReferences", []),
                swap=swap,
                remove=remove,
                add=add,
                strict_order=strict,
                priority_start=self.priority_start,
            )
            try:
                self.client.update_firewall_policy(
                    FirewallPolicyArn=self.policy_arn, UpdateToken=token, FirewallPolicy=updated
                )
                return
            except ClientError as err:
                if _error_code(err) != "InvalidTokenException" or attempt == MAX_TOKEN_RETRIES:
                    raise
                self.log("stale_update_token", resource=self.policy_arn, attempt=attempt + 1)
                policy, token = self.read_policy()

    def _delete(self, arn: str) -> bool:
        try:
            self.client.delete_rule_group(RuleGroupArn=arn)
            return True
        except ClientError as err:
            self.log("delete_failed", resource=arn, error=str(err))
            return False

    # -- the whole apply ---------------------------------------------------------------------

    def apply(self, desired: Sequence[DesiredGroup]) -> ApplyResult:
        policy, token = self.read_policy()
        rule_order = self.rule_order(policy)
        live = self.read_live_groups(policy)
        actions = diff_groups(desired, live)
        result = ApplyResult(actions=actions)
        for action in actions:
            if action.kind in ("keep", "update") and action.live and action.desired:
                result.arns_by_key[action.key] = action.live.arn
                result.names_by_key[action.key] = action.live.name
                result.capacity_by_key[action.key] = action.live.capacity
        if not result.changed:
            self.log("no_changes", groups=len(actions))
            return result

        created: dict[str, str] = {}  # key -> new arn
        restored: list[tuple[LiveGroup, Mapping[str, Any]]] = []
        step = "create"
        try:
            for action in actions:
                if action.kind in ("create", "replace") and action.desired:
                    arn = self._create(action.desired, rule_order)
                    created[action.key] = arn
                    result.created.append(arn)
                    result.arns_by_key[action.key] = arn
                    result.names_by_key[action.key] = action.desired.name
                    result.capacity_by_key[action.key] = action.desired.capacity
                    self.log("group_created", key=action.key, arn=arn, kind=action.kind)
            step = "update"
            for action in actions:
                if action.kind == "update" and action.desired and action.live:
                    body = self._rule_group_body(action.desired, rule_order)
                    self._update_group(action.live.arn, action.live.update_token, body)
                    restored.append((action.live, action.live.rule_group))
                    result.updated.append(action.live.arn)
                    self.log("group_updated", key=action.key, arn=action.live.arn)
            step = "policy"
            swap = {a.live.arn: created[a.key] for a in actions if a.kind == "replace" and a.live}
            remove = {a.live.arn for a in actions if a.kind == "delete" and a.live}
            add = [created[a.key] for a in actions if a.kind == "create"]
            if swap or remove or add:
                self._switch_policy(policy, token, swap, remove, add)
                result.policy_updated = True
                self.log("policy_updated", attached=len(add) + len(swap), detached=len(remove))
        except (ClientError, SyncError) as err:
            self._roll_back(restored, list(created.values()))
            raise ApplyError(
                self.policy_arn,
                f"{step} step failed ({err}); rolled back, the last applied rules stay in force",
                "check the function's logs and the Network Firewall quotas",
            ) from err

        for action in actions:
            if action.kind in ("replace", "delete") and action.live:
                if self._delete(action.live.arn):
                    result.deleted.append(action.live.arn)
                else:
                    result.leftovers.append(action.live.arn)
        return result

    def _roll_back(
        self, restored: Sequence[tuple[LiveGroup, Mapping[str, Any]]], created: Sequence[str]
    ) -> None:
        """Best effort, every step attempted: put previous rules back, remove new groups."""
        for live, previous in reversed(restored):
            try:
                token = self.client.describe_rule_group(RuleGroupArn=live.arn)["UpdateToken"]
                self._update_group(live.arn, token, previous)
                self.log("rollback_restored", arn=live.arn)
            except ClientError as err:
                self.log("rollback_failed", arn=live.arn, error=str(err))
        for arn in created:
            if self._delete(arn):
                self.log("rollback_deleted", arn=arn)
