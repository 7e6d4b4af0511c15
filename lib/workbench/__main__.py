"""`python -m workbench ...`: the workbench command where the `workbench` script is not on PATH."""

import sys

from workbench.runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
