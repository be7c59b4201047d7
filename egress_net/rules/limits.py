"""Network Firewall's limits and unsupported Suricata features, kept in one place.

Sources (read 2026-11-25):

- Unsupported Suricata features: "Limitations and caveats for stateful rules in AWS Network
  Firewall", https://docs.aws.amazon.com/network-firewall/latest/developerguide/suricata-limitations-caveats.html
  (datasets/datarep, ENIP/CIP keywords, file keywords, FTP-data detection, GeoIP, iprep, Lua,
  QUIC, actions other than pass/drop/reject/alert, SCTP, xbits/hostbits tracked by IP,
  tag:host, thresholding, IKEv2, IP-in-IP, HTTP/2 overloading).
- Capacity: "Setting rule group capacity in AWS Network Firewall",
  https://docs.aws.amazon.com/network-firewall/latest/developerguide/nwfw-rule-group-capacity.html
  (stateless: product of match-setting sizes; stateful: one per rule). Domain lists:
  (domains x target types) + target types, as observed and written up in
  https://cloudnetworks.io/2021-09-22-suricata-notes (the conservative figure).
- Quotas: "AWS Network Firewall quotas" (rule group capacity 30,000; rules string 2 MB;
  20 stateful rule groups per policy; stateful capacity 30,000 per policy; 5 IP set
  references per rule group; 8,192 characters per Suricata rule).

Deliberate reading: "File keywords aren't allowed" is about *file extraction*
(``filestore``, ``filename``, ``filemagic``, hashes, ``filesize``). ``file.data`` /
``file_data`` is an inspection buffer (HTTP/SMTP bodies) used by AWS's own managed threat
signatures, so it is accepted.
"""

from __future__ import annotations

from typing import Final

SOURCE_URL: Final = (
    "https://docs.aws.amazon.com/network-firewall/latest/developerguide/"
    "suricata-limitations-caveats.html"
)
SOURCE_READ_ON: Final = "2026-11-25"

SUPPORTED_ACTIONS: Final = frozenset({"pass", "drop", "reject", "alert"})

# keyword -> the unsupported feature it belongs to (shown in the rejection detail).
UNSUPPORTED_KEYWORDS: Final[dict[str, str]] = {
    "dataset": "datasets",
    "datarep": "datasets",
    "iprep": "IP reputation",
    "geoip": "GeoIP",
    "lua": "Lua scripting",
    "luajit": "Lua scripting",
    "filestore": "file extraction",
    "filename": "file extraction",
    "file.name": "file extraction",
    "fileext": "file extraction",
    "filemagic": "file extraction",
    "file.magic": "file extraction",
    "filemd5": "file extraction",
    "filesha1": "file extraction",
    "filesha256": "file extraction",
    "filesize": "file extraction",
    "enip_command": "ENIP/CIP keywords",
    "cip_service": "ENIP/CIP keywords",
    "cip_attribute": "ENIP/CIP keywords",
    "cip_class": "ENIP/CIP keywords",
    "cip_instance": "ENIP/CIP keywords",
    "cip_status": "ENIP/CIP keywords",
    "cip_extendedstatus": "ENIP/CIP keywords",
    "threshold": "thresholding",
    "detection_filter": "thresholding",
    "hostbits": "hostbits (always tracked by host/IP)",
    "ike.init_spi": "IKEv2 protocol",
    "ike.resp_spi": "IKEv2 protocol",
    "ike.chosen_sa_attribute": "IKEv2 protocol",
    "ike.exchtype": "IKEv2 protocol",
    "ike.vendor": "IKEv2 protocol",
    "ike.key_exchange_payload": "IKEv2 protocol",
    "ike.key_exchange_payload_length": "IKEv2 protocol",
    "ike.nonce_payload": "IKEv2 protocol",
    "ike.nonce_payload_length": "IKEv2 protocol",
    "quic.version": "QUIC",
    "quic.cyu.hash": "QUIC",
    "quic.cyu.string": "QUIC",
    "quic.sni": "QUIC",
    "quic.ua": "QUIC",
}

# Header protocols Network Firewall does not inspect.
UNSUPPORTED_PROTOCOLS: Final[dict[str, str]] = {
    "sctp": "SCTP protocol",
    "ftp-data": "FTP-data protocol detection",
    "enip": "ENIP/CIP",
    "ike": "IKEv2 protocol",
    "ikev2": "IKEv2 protocol",
    "quic": "QUIC protocol detection",
    "http3": "QUIC protocol detection",
}

# pcre is only accepted next to one of these (a content match or a sticky domain buffer).
PCRE_ANCHORS: Final = frozenset(
    {"content", "tls.sni", "tls_sni", "http.host", "http_host", "dns.query", "dns_query"}
)

RULE_LENGTH_MAX: Final = 8_192  # characters, after variable expansion
RULES_STRING_BYTES_MAX: Final = 2_000_000  # per rule group
IP_SET_REFERENCES_PER_GROUP_MAX: Final = 5
GROUP_CAPACITY_MIN: Final = 1
GROUP_CAPACITY_MAX: Final = 30_000
STATEFUL_GROUPS_PER_POLICY_MAX: Final = 20
STATEFUL_POLICY_CAPACITY_MAX: Final = 30_000
STATELESS_POLICY_CAPACITY_MAX: Final = 30_000

# Stable reason codes (the CLI report and tests key on these).
R_MALFORMED: Final = "malformed-rule"
R_ACTION: Final = "unsupported-action"  # + ":<action>"
R_PROTOCOL: Final = "unsupported-protocol"  # + ":<protocol>"
R_KEYWORD: Final = "unsupported-keyword"  # + ":<keyword>"
R_UNKNOWN_KEYWORD: Final = "unknown-keyword"  # + ":<keyword>"; not a Suricata 7.0 keyword
R_XBITS_IP: Final = "unsupported-keyword:xbits-ip-tracking"
R_TAG_HOST: Final = "unsupported-keyword:tag-host"
R_HTTP2_OVERLOAD: Final = "unsupported-keyword:http2-overload"
R_PCRE: Final = "pcre-without-content"
R_PRIORITY: Final = "priority-in-strict-order"
R_SID_MISSING: Final = "missing-sid"
R_SID_INVALID: Final = "invalid-sid"
R_SID_DUPLICATE: Final = "duplicate-sid"
R_TOO_LONG: Final = "rule-too-long"
R_UNDEFINED_VARIABLE: Final = "undefined-variable"
R_TOO_MANY_REFERENCES: Final = "too-many-ip-set-references"
R_NAT_SCOPE: Final = "source-not-visible-behind-nat"
W_FLOWBIT_SETTER: Final = "flowbits-setter-missing"
