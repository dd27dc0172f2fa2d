"""The ``rivetctl`` command line (typer), thin over the client library."""

from __future__ import annotations

import sys


def console_main() -> None:
    """Entry point of the ``rivetctl`` script; ``--version`` answers without importing the CLI."""
    if sys.argv[1:] == ["--version"]:
        from rivetctl import __version__

        sys.stdout.write(f"rivetctl {__version__}\n")
        raise SystemExit(0)
    from rivetctl.cli.app import main

    raise SystemExit(main())
