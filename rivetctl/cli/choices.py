"""The fixed choices of options and arguments: typer shows them in help and checks them; the completion
scripts offer them."""

from enum import StrEnum


class OutputMode(StrEnum):
    """``-o``: the values of :data:`rivetctl.output.render.MODES`, and ``csv``, which only ``sql`` writes (a
    test keeps them so)."""

    AUTO = "auto"
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    YAML = "yaml"
    RAW = "raw"
    CSV = "csv"


class WireEncoding(StrEnum):
    """``--encoding``: the values of :data:`rivetctl.protocol.encoding.ENCODINGS` (a test keeps them equal)."""

    JSON = "json"
    CBOR = "cbor"
    BARE = "bare"


class Timestamps(StrEnum):
    """``watch --timestamps``."""

    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Shell(StrEnum):
    """``completions SHELL``: the shells a completion script is generated for."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
