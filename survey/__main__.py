"""`python -m survey --help`."""

import sys

from survey.cli import main

sys.exit(main())
