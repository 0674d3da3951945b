"""``python -m hub.cli``: the same as the ``backa`` command."""

from hub.cli import main

if __name__ == "__main__":  # not again in the processes a rebuild starts
    raise SystemExit(main())
