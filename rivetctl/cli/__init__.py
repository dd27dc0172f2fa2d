"""The ``rivetctl`` command line (typer), thin over the client library."""

from __future__ import annotations

import gc
import sys


def console_main() -> None:
    """Entry point of the ``rivetctl`` script; ``--version`` answers without importing the CLI.

    Start-up (imports, typer's command tree, the client) creates tens of thousands of long-lived objects and
    hardly any garbage, so the cyclic collector is paused until a command's body runs
    (:func:`rivetctl.cli.runner.run` resumes it, with those objects frozen out of later collections): a
    one-shot call starts faster.
    """
    gc.disable()
    if sys.argv[1:] == ["--version"]:
        from rivetctl import __version__

        sys.stdout.write(f"rivetctl {__version__}\n")
        raise SystemExit(0)
    from rivetctl.cli.app import main

    raise SystemExit(main())
