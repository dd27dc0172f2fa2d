"""The interactive REPL: a live connection you can talk to, events streaming above the prompt."""
