"""`python -m datadist_conformance` is the `datadist-conformance` command."""

import sys

from .cli import main

sys.exit(main())
