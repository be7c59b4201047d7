"""Pulumi ComponentResources (``egress-net:index:<Name>``): thin wiring of routing intent and
rule plans into pulumi_aws resources."""
