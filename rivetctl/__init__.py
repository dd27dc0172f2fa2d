"""rivetctl: command-line tool, REPL and Python client library for RivetKit actors."""

__version__ = "0.1.0"
