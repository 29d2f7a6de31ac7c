"""`python -m appliance`; the command line itself is appliance/cli/main.py."""

import sys

from appliance.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
