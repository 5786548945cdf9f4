"""`python -m chargebox` runs the command line."""

import sys

from chargebox.cli import main

sys.exit(main())
