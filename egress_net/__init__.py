"""egress_net: centralized egress filtering with AWS Network Firewall, verifiable offline."""

__version__ = "0.1.0"
