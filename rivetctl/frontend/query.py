"""JMESPath expressions (``--query``, ``wait --until``): compiled once, applied to the JSON form of a value.

The ``jmespath`` package is imported only here, and only when an expression is compiled: ``rivetctl --help``
and the commands that take no expression never load it.
"""

from __future__ import annotations

from typing import Any

from rivetctl.errors import ConfigError


class Query:
    """A compiled JMESPath expression. ``search`` takes a value in its JSON form (what ``-o json`` prints:
    :func:`~rivetctl.output.jsonable.jsonable`), so that ``$``-tagged values are queried as the arrays they
    print as."""

    def __init__(self, expression: str, compiled: Any, option: str = "--query") -> None:
        self.expression = expression
        self.option = option
        self._compiled = compiled

    def __repr__(self) -> str:
        return f"Query({self.expression!r})"

    def search(self, value: Any) -> Any:
        """The expression's result on ``value`` (made JSON-safe first); ``None`` where it selects nothing.

        Raises:
            ConfigError: the expression cannot be applied to this value (a function given the wrong type).
        """
        from jmespath import exceptions

        from rivetctl.output.jsonable import jsonable

        try:
            return self._compiled.search(jsonable(value))
        except exceptions.JMESPathError as exc:
            raise ConfigError(f"{self.option} {self.expression!r}: {_reason(exc)}") from None


def compile_query(expression: str, option: str = "--query") -> Query:
    """Compile ``expression``; a syntax error is a :class:`~rivetctl.errors.ConfigError` (exit 2) in one line,
    naming ``option`` and where the expression went wrong."""
    import jmespath
    from jmespath import exceptions

    if not expression.strip():
        raise ConfigError(f"{option}: the expression is empty")
    try:
        compiled = jmespath.compile(expression)
        compiled.search(None)  # an unknown function name is found only when the expression runs
    except exceptions.UnknownFunctionError as exc:
        raise ConfigError(f"{option} {expression!r}: {_reason(exc)}") from None
    except exceptions.JMESPathError as exc:
        if isinstance(exc, exceptions.ParseError | exceptions.LexerError):
            raise ConfigError(f"{option} {expression!r}: {_reason(exc)}") from None
    return Query(expression, compiled, option)


def _reason(exc: Exception) -> str:
    """jmespath's message in one line: its parse errors span three (message, expression, a caret)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = first.split(": Parse error at column", 1)[0].rstrip(":")
    text = text.removeprefix("Invalid jmespath expression: ").removeprefix("Bad jmespath expression: ")
    position = getattr(exc, "lex_position", None)
    if isinstance(position, int) and position >= 0:
        text += f" (column {position + 1})"
    return text


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, an empty string, array or object are false; everything else (``0``
    included) is true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True
