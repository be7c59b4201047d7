"""Rule variables: IP sets, port sets and IP-set references a rule group defines."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

VARIABLE_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
REFERENCE_RE = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")

HOME_NET = "HOME_NET"
EXTERNAL_NET = "EXTERNAL_NET"

# Suricata's shipped variables (``vars`` in suricata.yaml.in, OISF/suricata main-7.0.x), which
# rulesets such as ET Open use (6,479 of its 2024 rules name ``$HTTP_SERVERS`` and friends).
# Address groups name what they default to; a configured set of the same name always wins.
SURICATA_ADDRESS_DEFAULTS: dict[str, str] = {
    "HTTP_SERVERS": HOME_NET,
    "SMTP_SERVERS": HOME_NET,
    "SQL_SERVERS": HOME_NET,
    "DNS_SERVERS": HOME_NET,
    "TELNET_SERVERS": HOME_NET,
    "AIM_SERVERS": EXTERNAL_NET,
    "DC_SERVERS": HOME_NET,
    "DNP3_SERVER": HOME_NET,
    "DNP3_CLIENT": HOME_NET,
    "MODBUS_CLIENT": HOME_NET,
    "MODBUS_SERVER": HOME_NET,
    "ENIP_CLIENT": HOME_NET,
    "ENIP_SERVER": HOME_NET,
}
# Network Firewall port sets take ports and ranges only, so Suricata's "!80" is written as the
# ranges around 80, and "[$HTTP_PORTS,110,143]" with $HTTP_PORTS expanded.
SURICATA_PORT_DEFAULTS: dict[str, tuple[str, ...]] = {
    "HTTP_PORTS": ("80",),
    "SHELLCODE_PORTS": ("0:79", "81:65535"),
    "ORACLE_PORTS": ("1521",),
    "SSH_PORTS": ("22",),
    "DNP3_PORTS": ("20000",),
    "MODBUS_PORTS": ("502",),
    "FILE_DATA_PORTS": ("80", "110", "143"),
    "FTP_PORTS": ("21",),
    "GENEVE_PORTS": ("6081",),
    "VXLAN_PORTS": ("4789",),
    "TEREDO_PORTS": ("3544",),
}


# Models whose firewall has no VPC of its own (attached to a Transit Gateway): Network Firewall
# cannot default HOME_NET to a VPC CIDR there, so every rule group must define HOME_NET and
# EXTERNAL_NET itself ("Suricata features that Network Firewall supports with caveats",
# https://docs.aws.amazon.com/network-firewall/latest/developerguide/suricata-limitations-caveats.html).
MODELS_WITHOUT_FIREWALL_VPC = frozenset({"tgw-attached"})


def rule_variables_for(model: str, home_net: Sequence[str]) -> dict[str, list[str]]:
    """The network IP sets every rule group of a firewall of ``model`` declares.

    ``{"HOME_NET": home_net}``, plus ``EXTERNAL_NET`` (everything else) where the firewall
    has no VPC to derive it from. Anything that builds rule groups for the hub (the policy
    here, the ET sync's groups) uses this, so no group of a TGW-attached firewall lacks them.
    """
    sets = {HOME_NET: list(home_net)}
    if model in MODELS_WITHOUT_FIREWALL_VPC:
        sets[EXTERNAL_NET] = complement(list(home_net))
    return sets


def complement(networks: list[str]) -> list[str]:
    """The IPv4 (and, if any is given, IPv6) space outside ``networks``, as CIDR blocks."""
    result: list[str] = []
    for version, everything in ((4, "0.0.0.0/0"), (6, "::/0")):
        nets = [ipaddress.ip_network(n, strict=False) for n in networks]
        mine = list(ipaddress.collapse_addresses(n for n in nets if n.version == version))
        if version == 6 and not mine:
            continue
        rest = [ipaddress.ip_network(everything)]
        for net in mine:
            rest = [
                piece
                for block in rest
                for piece in ([block] if not net.subnet_of(block) else block.address_exclude(net))
                if not piece.subnet_of(net)
            ]
        result += [str(n) for n in sorted(rest)]
    return result


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
        suricata_defaults: bool = False,
    ) -> RuleVariables:
        """``suricata_defaults`` also defines Suricata's shipped variables (``$HTTP_SERVERS``,
        ``$HTTP_PORTS`` …) that the configured sets do not, as the ET sync does; a rule group
        declares only the sets its rules use."""
        merged = {HOME_NET: list(home_net)}
        merged.update(ip_sets or {})
        ports = {k: list(v) for k, v in (port_sets or {}).items()}
        if suricata_defaults:
            home = merged[HOME_NET]
            external = merged.get(EXTERNAL_NET) or complement(home)
            for name, base in SURICATA_ADDRESS_DEFAULTS.items():
                if name not in merged and name not in ports:
                    merged[name] = list(home if base == HOME_NET else external)
            for name, values in SURICATA_PORT_DEFAULTS.items():
                if name not in ports and name not in merged:
                    ports[name] = list(values)
        return cls(ip_sets=merged, port_sets=ports, references=dict(references or {}))

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
