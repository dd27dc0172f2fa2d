"""The trace waterfall, on OTLP/JSON shaped exactly as RivetKit defines it: ``@rivetkit/traces`` 2.3.19
``src/otlp.ts`` (``OtlpExportTraceServiceRequestJson`` → ``resourceSpans`` → ``scopeSpans`` → ``spans``;
``OtlpSpan`` with hex ``traceId``/``spanId``/``parentSpanId``, ``startTimeUnixNano``/``endTimeUnixNano`` as
decimal strings, ``attributes`` as ``OtlpKeyValue`` lists, ``status {code, message}``) and
``src/read-range.ts`` (``buildExport``: one resource span holding one scope span; ``toOtlpStatus``: 0 unset,
1 ok, 2 error; an open span has no ``endTimeUnixNano``). RivetKit 2.3.19's native inspector route returns
``{"otlp": [], "clamped": false}``, so this draws data no real server of that version sends: it tests the
renderer, and tests/e2e/test_workflow.py checks the empty answer against the real server."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from rivetctl.output.waterfall import any_value, bar, in_tree_order, spans_from_otlp, waterfall

BASE = 1_796_544_354_000_000_000  # ns
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(
    span_id: str, name: str, start_ms: float, end_ms: float | None, parent: str | None = None, **extra: Any
) -> Any:
    span: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(BASE + int(start_ms * 1_000_000)),
    }
    if parent is not None:
        span["parentSpanId"] = parent
    if end_ms is not None:
        span["endTimeUnixNano"] = str(BASE + int(end_ms * 1_000_000))
    span.update(extra)
    return span


EXPORT = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "rivetkit"}}]},
            "scopeSpans": [
                {
                    "spans": [
                        _span("00f067aa0ba902b7", "actor.action getCount", 0, 100, status={"code": 1}),
                        _span(
                            "a1b2c3d4e5f60708",
                            "workflow.step chargeCard",
                            60,
                            100,
                            "00f067aa0ba902b7",
                            status={"code": 2, "message": "card declined"},
                            attributes=[
                                {"key": "attempt", "value": {"intValue": "3"}},
                                {"key": "retry", "value": {"boolValue": True}},
                                {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}},
                                {
                                    "key": "meta",
                                    "value": {
                                        "kvlistValue": {
                                            "values": [
                                                {"key": "ratio", "value": {"doubleValue": 0.5}},
                                            ]
                                        }
                                    },
                                },
                            ],
                        ),
                        _span("1111111111111111", "sqlite.query", 10, 40, "00f067aa0ba902b7"),
                        _span("2222222222222222", "kv.get", 12, 12.25, "1111111111111111"),
                        _span("3333333333333333", "actor.sleep", 100, None),
                    ]
                }
            ],
        }
    ]
}


def test_spans_are_read_from_an_export_with_their_attributes_and_status() -> None:
    spans = spans_from_otlp(EXPORT)
    assert [s.name for s in spans][:2] == ["actor.action getCount", "workflow.step chargeCard"]
    step = spans[1]
    assert (step.trace_id, step.parent_span_id, step.status, step.status_message) == (
        TRACE,
        "00f067aa0ba902b7",
        "error",
        "card declined",
    )
    assert step.attributes == {"attempt": 3, "retry": True, "tags": ["a"], "meta": {"ratio": 0.5}}
    assert spans[-1].end_ns is None and spans[0].status == "ok" and spans[2].status == ""


@pytest.mark.parametrize(
    "wrapped",
    [
        [EXPORT],  # a list of exports
        EXPORT["resourceSpans"],  # a list of resource spans
        EXPORT["resourceSpans"][0]["scopeSpans"][0]["spans"],  # a list of spans
    ],
)
def test_every_wrapping_of_the_spans_is_accepted(wrapped: Any) -> None:
    assert [s.span_id for s in spans_from_otlp(wrapped)] == [s.span_id for s in spans_from_otlp(EXPORT)]


@pytest.mark.parametrize("empty", [[], None, {}, {"resourceSpans": [{"scopeSpans": [{"spans": []}]}]}])
def test_no_spans(empty: Any) -> None:
    assert spans_from_otlp(empty) == []


def test_tree_order_puts_children_under_their_parent_by_start() -> None:
    ordered = [(s.name, depth) for s, depth in in_tree_order(spans_from_otlp(EXPORT))]
    assert ordered == [
        ("actor.action getCount", 0),
        ("sqlite.query", 1),
        ("kv.get", 2),
        ("workflow.step chargeCard", 1),
        ("actor.sleep", 0),
    ]


def test_a_parent_cycle_or_a_missing_parent_shows_each_span_once() -> None:
    spans = spans_from_otlp([_span("aa", "a", 0, 1, "bb"), _span("bb", "b", 0, 1, "aa"), _span("cc", "c", 2, 3, "zz")])
    assert sorted(s.name for s, _ in in_tree_order(spans)) == ["a", "b", "c"]


def test_bars_sit_on_a_common_time_line() -> None:
    assert bar(0, 100, 0, 100, width=10) == "██████████"
    assert bar(50, 60, 0, 100, width=10) == "     █"
    assert bar(0, 1, 0, 1000, width=10) == "█"  # never narrower than one cell
    assert bar(90, None, 0, 100, width=10) == "         …"  # still open
    assert bar(50, None, 0, 100, width=10) == "     ████…"


def test_waterfall_table() -> None:
    out = io.StringIO()
    Console(file=out, width=200, no_color=True).print(waterfall(spans_from_otlp(EXPORT), title="spans", width=20))
    lines = out.getvalue().splitlines()
    rows = {line.split()[0]: line for line in lines[2:]}
    assert lines[0].strip() == "spans"
    assert lines[1].split() == ["span", "start", "duration", "timeline", "status"]
    assert "  sqlite.query" in rows["sqlite.query"] and "    kv.get" in rows["kv.get"]
    assert rows["actor.action"].split()[2:5] == ["+0", "ms", "100"]
    assert "████████████████████" in rows["actor.action"] and rows["actor.action"].rstrip().endswith("ok")
    assert "+12 ms" in rows["kv.get"] and "250 µs" in rows["kv.get"]
    assert rows["workflow.step"].rstrip().endswith("error: card declined")
    assert "open" in rows["actor.sleep"] and "…" in rows["actor.sleep"]


def test_any_value_kinds() -> None:
    assert any_value({"bytesValue": "AAE="}) == ["$Uint8Array", "AAE="]
    assert any_value({"stringValue": ""}) == "" and any_value(None) is None and any_value({}) is None
