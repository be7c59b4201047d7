"""Routing graph, path tracer and checks, shared by ``verify`` (offline) and ``audit`` (live).

- :mod:`.model`: the neutral graph (VPCs, subnets by AZ ID, route tables, gateways, firewall
  endpoints, TGW attachments and route tables);
- :mod:`.from_recording` / :mod:`.from_aws`: the two adapters that build it;
- :mod:`.tracer`: hop-by-hop forwarding; :mod:`.checks`: what must hold; :mod:`.report`: output.
"""
