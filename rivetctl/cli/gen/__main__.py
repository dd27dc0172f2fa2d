"""``python -m rivetctl.cli.gen [--check] [ROOT]``, as ``scripts/generate`` runs it."""

from rivetctl.cli.gen import main

raise SystemExit(main())
