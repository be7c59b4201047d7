"""Sub-commands of ``egress-net``.

Every module in this package is a sub-command: it defines ``register(subparsers)``, which adds
its parser and sets ``func`` (``args -> int`` exit code) as a default. ``egress_net.cli``
discovers the modules, so adding a command never means editing the CLI itself.
"""
