"""Trace spans from an actor's inspector (OTLP/JSON, as ``@rivetkit/traces`` exports them) as a waterfall: each
span under its parent, its start after the first span, its duration and a bar on a common time line.

The shapes are those of ``@rivetkit/traces`` (``src/otlp.ts``: ``OtlpExportTraceServiceRequestJson`` →
``resourceSpans`` → ``scopeSpans`` → ``spans``; ``src/read-range.ts``: hex ids, times in nanoseconds as decimal
strings, status codes 0 unset, 1 ok, 2 error). The inspector's ``otlp`` field is one such export, or a list of
exports, resource spans or spans; all are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rivetctl.output.jsonable import escape_control

if TYPE_CHECKING:
    from rich.table import Table

BAR_WIDTH = 40
_STATUS = {0: "", 1: "ok", 2: "error"}


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int | None
    """``None`` while the span is still open."""
    status_code: int = 0
    status_message: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return _STATUS.get(self.status_code, str(self.status_code))


def spans_from_otlp(otlp: Any) -> list[Span]:
    """Every span in ``otlp``, in the order found."""
    spans: list[Span] = []
    for raw in _raw_spans(otlp):
        start = _nanos(raw.get("startTimeUnixNano"))
        if start is None:
            continue
        status = raw.get("status")
        status = status if isinstance(status, Mapping) else {}
        code = status.get("code", 0)
        spans.append(
            Span(
                trace_id=str(raw.get("traceId") or ""),
                span_id=str(raw.get("spanId") or ""),
                parent_span_id=str(raw["parentSpanId"]) if raw.get("parentSpanId") else None,
                name=str(raw.get("name") or "?"),
                start_ns=start,
                end_ns=_nanos(raw.get("endTimeUnixNano")),
                status_code=code if isinstance(code, int) else 0,
                status_message=str(status["message"]) if status.get("message") else None,
                attributes=attributes(raw.get("attributes")),
            )
        )
    return spans


def _raw_spans(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, list):
        return [span for item in value for span in _raw_spans(item)]
    if not isinstance(value, Mapping):
        return []
    if "resourceSpans" in value:
        return _raw_spans(value["resourceSpans"])
    if "scopeSpans" in value:
        return _raw_spans(value["scopeSpans"])
    if "spans" in value:
        spans = value["spans"]
        return [s for s in spans if isinstance(s, Mapping)] if isinstance(spans, list) else []
    if "spanId" in value:
        return [value]
    return []


def _nanos(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def attributes(raw: Any) -> dict[str, Any]:
    """OTLP ``[{key, value: AnyValue}]`` as a plain dict."""
    if not isinstance(raw, list):
        return {}
    return {str(kv.get("key")): any_value(kv.get("value")) for kv in raw if isinstance(kv, Mapping)}


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` (``stringValue``, ``intValue`` as a decimal string, ``arrayValue``, ...) as a plain
    value."""
    if not isinstance(value, Mapping):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return _nanos(value["intValue"])
    if "doubleValue" in value:
        return value["doubleValue"]
    if "bytesValue" in value:
        return ["$Uint8Array", value["bytesValue"]]
    if "arrayValue" in value:
        items = value["arrayValue"].get("values") if isinstance(value["arrayValue"], Mapping) else None
        return [any_value(v) for v in items] if isinstance(items, list) else []
    if "kvlistValue" in value:
        items = value["kvlistValue"].get("values") if isinstance(value["kvlistValue"], Mapping) else None
        return attributes(items)
    return None


def in_tree_order(spans: list[Span]) -> list[tuple[Span, int]]:
    """The spans depth first, each followed by its children, siblings by start time; a span whose parent is
    not among them is a root. With its depth."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids and span.parent_span_id != span.span_id else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: (s.start_ns, s.end_ns or s.start_ns))
    ordered: list[tuple[Span, int]] = []
    seen: set[int] = set()

    def visit(span: Span, depth: int) -> None:
        if id(span) in seen:  # a cycle in parent ids: show each span once
            return
        seen.add(id(span))
        ordered.append((span, depth))
        for child in children.get(span.span_id, []):
            visit(child, depth + 1)

    for root in children.get(None, []):
        visit(root, 0)
    for span in spans:  # spans only reachable through a cycle
        visit(span, 0)
    return ordered


def bar(start: int, end: int | None, origin: int, last: int, width: int = BAR_WIDTH) -> str:
    """A span's bar on a line of ``width`` cells from ``origin`` to ``last`` (ns); an open span ends in ``…``."""
    total = max(1, last - origin)
    first = min(width - 1, (start - origin) * width // total)
    stop = last if end is None else end
    cells = max(1, -(-(stop - origin) * width // total) - first)
    cells = min(cells, width - first)
    if end is None:
        return " " * first + "█" * (cells - 1) + "…"
    return " " * first + "█" * cells


def waterfall(spans: list[Span], *, title: str | None = None, color: bool = True, width: int = BAR_WIDTH) -> Table:
    """The spans as a table: span (indented under its parent), start, duration, bar, status."""
    from rich.table import Table
    from rich.text import Text

    from rivetctl.output.workflow_tree import duration

    ordered = in_tree_order(spans)
    origin = min(s.start_ns for s in spans) if spans else 0
    last = max(max(s.end_ns or s.start_ns, s.start_ns) for s in spans) if spans else 0
    table = Table(title=title, header_style="bold" if color else "", box=None, pad_edge=False)
    table.add_column("span", no_wrap=True)
    table.add_column("start", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("timeline", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for span, depth in ordered:
        failed = span.status_code == 2
        took = "open" if span.end_ns is None else duration((span.end_ns - span.start_ns) / 1e6)
        status = span.status + (f": {span.status_message}" if span.status_message else "")
        table.add_row(
            Text("  " * depth + escape_control(span.name)),
            Text(f"+{duration((span.start_ns - origin) / 1e6)}"),
            Text(took),
            Text(
                bar(span.start_ns, span.end_ns, origin, last, width),
                style=("red" if failed else "cyan") if color else "",
            ),
            Text(escape_control(status), style="red" if failed and color else ""),
        )
    return table
