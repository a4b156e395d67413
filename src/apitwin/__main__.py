"""`python -m apitwin`."""

import sys

from apitwin.cli import main

sys.exit(main())
