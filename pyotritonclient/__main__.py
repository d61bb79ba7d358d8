"""``python -m pyotritonclient``: the command line (see pyotritonclient.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
