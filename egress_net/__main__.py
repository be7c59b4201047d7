import sys

from egress_net.cli import main

sys.exit(main())
