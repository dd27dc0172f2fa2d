"""Rendering of results, tables and streams for the CLI and REPL."""
