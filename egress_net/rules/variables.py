"""Rule variables: IP sets, port sets and IP-set references a rule group defines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VARIABLE_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
REFERENCE_RE = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")

HOME_NET = "HOME_NET"
EXTERNAL_NET = "EXTERNAL_NET"


@dataclass(frozen=True)
class RuleVariables:
    """What ``$NAME`` and ``@NAME`` mean in a rule group.

    ``EXTERNAL_NET`` is implicitly the negation of ``HOME_NET`` unless set explicitly, as
    Network Firewall does. ``references`` maps an ``@NAME`` IP-set reference to a managed
    prefix list / resource group ARN.
    """

    ip_sets: dict[str, list[str]] = field(default_factory=dict)
    port_sets: dict[str, list[str]] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_home_net(
        cls,
        home_net: list[str],
        *,
        ip_sets: dict[str, list[str]] | None = None,
        port_sets: dict[str, list[str]] | None = None,
        references: dict[str, str] | None = None,
    ) -> RuleVariables:
        merged = {HOME_NET: list(home_net)}
        merged.update(ip_sets or {})
        return cls(
            ip_sets=merged, port_sets=dict(port_sets or {}), references=dict(references or {})
        )

    def has_ip_set(self, name: str) -> bool:
        return name in self.ip_sets or (name == EXTERNAL_NET and HOME_NET in self.ip_sets)

    def has_port_set(self, name: str) -> bool:
        return name in self.port_sets

    def ip_set_text(self, name: str) -> str:
        """How Suricata sees ``$name`` once expanded (used for the rule length limit)."""
        if name == EXTERNAL_NET and name not in self.ip_sets:
            return "!" + self.ip_set_text(HOME_NET)
        return "[" + ",".join(self.ip_sets.get(name, [])) + "]"

    def port_set_text(self, name: str) -> str:
        return "[" + ",".join(self.port_sets.get(name, [])) + "]"

    def rule_group_variables(self, ip_names: set[str], port_names: set[str]) -> dict:
        """``rule_variables`` in pulumi_aws shape, for the sets a group actually uses.

        HOME_NET is always declared, so ``$EXTERNAL_NET`` (its negation) resolves inside the
        group rather than falling back to the firewall's VPC CIDR.
        """
        # An explicitly defined EXTERNAL_NET is declared in every group too (a firewall attached
        # to a Transit Gateway has no VPC to derive either variable from).
        always = {HOME_NET, EXTERNAL_NET}
        ip_keys = sorted((ip_names | always) & set(self.ip_sets))
        port_keys = sorted(port_names & set(self.port_sets))
        result: dict = {}
        if ip_keys:
            result["ip_sets"] = [
                {"key": key, "ip_set": {"definitions": list(self.ip_sets[key])}} for key in ip_keys
            ]
        if port_keys:
            result["port_sets"] = [
                {"key": key, "port_set": {"definitions": list(self.port_sets[key])}}
                for key in port_keys
            ]
        return result
