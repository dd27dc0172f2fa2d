"""The ``rivetctl`` command line (typer), thin over the client library."""

from __future__ import annotations

import sys


def console_main() -> None:
    """Entry point of the ``rivetctl`` script; ``--version`` answers without importing the CLI."""
    if sys.argv[1:] == ["--version"]:
        from rivetctl import __version__

        try:
            sys.stdout.write(f"rivetctl {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `rivetctl --version | true`: quiet, as every command (see cli.app.main)
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0)
    from rivetctl.cli.app import main

    raise SystemExit(main())
