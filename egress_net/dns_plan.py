"""What Route 53 Resolver DNS Firewall does with the spokes' queries: pure data.

The Network Firewall matches names in its domain lists as ``example.com`` (exactly that name)
and ``.example.com`` (the domain and every subdomain). DNS Firewall domain lists use another
syntax: a specification "can optionally start with * (asterisk)" and otherwise holds only
letters, digits, hyphens and dots, 1-255 characters (Route 53 Developer Guide, "Managing your
own domain lists"; API: UpdateFirewallDomains), so ``*.example.com`` names the subdomains and
``example.com`` the name itself. :func:`dns_firewall_domains` converts one into the other,
listing the domain itself beside the wildcard, so that it matches whatever the wildcard covers;
the same allow and deny lists then decide both.

Specifications are written fully qualified (``example.com.``): Route 53 Resolver stores every
domain with its trailing dot and the provider reads them back as listed (terraform-provider-aws
``internal/service/route53resolver/firewall_domain_list.go``: ListFirewallDomains into state,
no normalization; issue #23543), so a list sent without the dots differs from its state on
every ``pulumi up`` (``*`` comes back as ``*.``).

Rules run in priority order and the first match decides (Route 53 Developer Guide, "Rule
groups and rules in DNS Firewall"):

    drop:   deny list → BLOCK, managed lists → BLOCK, allow list → ALLOW, everything → BLOCK
    alert:  deny list → ALERT, managed lists → ALERT, allow list → ALLOW, everything → ALERT

so drop mode resolves only allowed names and alert mode logs every name drop mode would block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

DnsAction = Literal["ALLOW", "BLOCK", "ALERT"]

# Names the VPC's own resolver answers for AWS infrastructure (instance host names
# ip-10-0-0-1.ec2.internal, <region>.compute.internal): never leave the VPC, always resolve.
ALWAYS_RESOLVE = ("*.internal.",)
# DNS Firewall's wildcard that matches every name ("*", stored as "*."); the last rule of the
# group.
EVERYTHING = "*."
# A domain specification's length (API: UpdateFirewallDomains Domains, 1-255 characters) and a
# DNS name's (RFC 1035 section 2.3.4: 255 octets on the wire, 253 characters as text).
SPEC_MAX = 255
NAME_MAX = 253


# AWS's managed domain lists (Route 53 Developer Guide, "Managed domain lists"). Each one's
# rule has a priority of its own, 200 + its place here, so that adding, removing or reordering
# lists in config never moves another rule: priorities are unique within a rule group
# ("Rule settings in DNS Firewall"), and an update to a priority another rule still holds is
# refused. New names go at the end.
MANAGED_DOMAIN_LISTS = (
    "AWSManagedDomainsAggregateThreatList",
    "AWSManagedDomainsAmazonGuardDutyThreatList",
    "AWSManagedDomainsBotnetCommandandControl",
    "AWSManagedDomainsMalwareDomainList",
)
MANAGED_PRIORITY = 200


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def dns_firewall_domains(entry: str) -> list[str]:
    """One Network Firewall domain-list entry in DNS Firewall syntax, fully qualified.

    ``.example.com`` → ``example.com.`` and ``*.example.com.``; ``example.com`` →
    ``example.com.``. Names are compared without case by DNS (RFC 4343), so they are lowered.
    An apex so long that no subdomain of it fits in a DNS name gets no wildcard (it would match
    nothing, and would exceed the 255 characters AWS accepts).
    """
    name = entry.strip().lower()
    if not name.startswith("."):
        return [_fqdn(name)]
    apex = name[1:].rstrip(".")
    if len(apex) + 2 > NAME_MAX:  # "x." + apex: the shortest subdomain
        return [_fqdn(apex)]
    return [_fqdn(apex), _fqdn(f"*.{apex}")]


def dns_firewall_domain_list(entries: Sequence[str]) -> list[str]:
    """Entries in DNS Firewall syntax, each name once, in first-seen order."""
    out: dict[str, None] = {}
    for entry in entries:
        for name in dns_firewall_domains(entry):
            out.setdefault(name, None)
    return list(out)


@dataclass(frozen=True)
class DnsRule:
    """One rule of the DNS Firewall rule group."""

    name: str  # also names the domain list it uses
    priority: int
    action: DnsAction
    domains: tuple[str, ...] = ()  # a list this stack creates, or
    managed_list_id: str | None = None  # an AWS managed list
    block_response: str | None = None  # for BLOCK: NXDOMAIN or NODATA
    # How the names an answer redirects to (CNAME, DNAME, ALIAS) are judged: None keeps AWS's
    # default, inspecting each of them against the rules again.
    redirection: str | None = None


def plan_dns_rules(
    mode: Literal["drop", "alert"],
    allow: Sequence[str],
    deny: Sequence[str],
    managed: Sequence[tuple[str, str]] = (),
    block_response: str = "NXDOMAIN",
) -> list[DnsRule]:
    """The rule group's rules, in priority order. ``allow`` and ``deny`` are Network Firewall
    entries; ``managed`` are (name, domain list ID) of AWS managed lists (names of
    :data:`MANAGED_DOMAIN_LISTS`)."""
    blocking: DnsAction = "BLOCK" if mode == "drop" else "ALERT"
    response = block_response if blocking == "BLOCK" else None
    rules: list[DnsRule] = []
    if deny:
        rules.append(
            DnsRule(
                "deny-domains", 100, blocking, tuple(dns_firewall_domain_list(deny)), None, response
            )
        )
    for name, list_id in sorted(managed, key=lambda m: MANAGED_DOMAIN_LISTS.index(m[0])):
        priority = MANAGED_PRIORITY + MANAGED_DOMAIN_LISTS.index(name)
        rules.append(DnsRule(f"managed-{name}", priority, blocking, (), list_id, response))
    allowed = [*ALWAYS_RESOLVE, *dns_firewall_domain_list(allow)]
    # An allowed name often answers with a CNAME into a CDN (pypi.org → *.fastly.net): trust
    # the chain of an allowed name (API: FirewallRule FirewallDomainRedirectionAction
    # TRUST_REDIRECTION_DOMAIN), or the catch-all rule would block the CDN's name. The
    # Network Firewall matches the name the client asked for (SNI/Host) as well.
    rules.append(
        DnsRule(
            "allow-domains",
            500,
            "ALLOW",
            tuple(dict.fromkeys(allowed)),
            redirection="TRUST_REDIRECTION_DOMAIN",
        )
    )
    rules.append(DnsRule("everything-else", 1000, blocking, (EVERYTHING,), None, response))
    return rules
