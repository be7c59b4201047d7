"""The egress-net component provider: hosts the package's components for every Pulumi language.

The schema is inferred from egress_net/component_provider.py; provider/schema.json is its
reviewed copy (the test suite compares them).
"""

from pulumi.provider.experimental import component_provider_host

from egress_net import __version__
from egress_net.component_provider import COMPONENTS, PACKAGE

if __name__ == "__main__":
    component_provider_host(COMPONENTS, PACKAGE, version=__version__)
