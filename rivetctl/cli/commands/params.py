"""Shared ``Annotated`` parameters, so every command spells NAME, KEY and friends the same way."""

from __future__ import annotations

from typing import Annotated

import typer

Name = Annotated[
    str, typer.Argument(metavar="NAME", help="Actor name in the registry, e.g. counter.", show_default=False)
]
Key = Annotated[
    str,
    typer.Argument(
        metavar="KEY",
        help='Actor key: a string, a JSON array for compound keys (\'["org-1","general"]\'), or @ACTOR_ID.',
        show_default=False,
    ),
]
Input = Annotated[
    str | None,
    typer.Option(
        "--input", metavar="JSON", help="Create input as JSON or @file (used only when the actor is created)."
    ),
]
Region = Annotated[str | None, typer.Option("--region", metavar="REGION", help="Datacenter to create the actor in.")]
