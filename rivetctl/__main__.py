"""``python -m rivetctl``."""

from rivetctl.cli import console_main

console_main()
