"""The egress-net Pulumi program. Everything it does is in egress_net.program."""

from egress_net.program import main

main()
