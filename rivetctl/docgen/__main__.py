"""``python -m rivetctl.docgen [--check] [ROOT_DIR]``, as ``scripts/generate`` runs it: rivetctl's own
command line, documented."""

import typer

from rivetctl.cli.app import app
from rivetctl.docgen import main

raise SystemExit(main(typer.main.get_command(app)))
