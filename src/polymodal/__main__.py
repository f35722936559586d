"""``python -m polymodal …`` runs the command line (same as the ``polymodal`` script)."""

import sys

from .cli import main

sys.exit(main())
