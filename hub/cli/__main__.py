"""``python -m hub.cli``: the same as the ``backa`` command."""

from hub.cli import main

raise SystemExit(main())
