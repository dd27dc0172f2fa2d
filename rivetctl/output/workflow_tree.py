"""A decoded workflow history (:mod:`rivetctl.client.workflow_history`) as a rich tree: the workflow's state on
top, then every step, loop (with its iterations), sleep, join and race (with their branches), each with its
status, attempts, when it started and how long it took, its error and a summary of its output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rivetctl.output.jsonable import escape_control
from rivetctl.output.render import dumps

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text
    from rich.tree import Tree

    from rivetctl.client.workflow_history import Node, WorkflowHistory

OUTPUT_LIMIT = 60
"""Characters of an output (as compact JSON) shown in the tree; ``-o json`` has it whole."""
ERROR_LIMIT = 240

_ICONS = {
    "completed": ("✓", "green"),
    "running": ("▶", "cyan"),
    "pending": ("○", "dim"),
    "failed": ("✗", "red"),
    "exhausted": ("✗", "bold red"),
    "cancelled": ("⊘", "dim"),
    "interrupted": ("⊘", "dim"),
}
_RETRYING = ("↻", "yellow")
_STATE_STYLES = {
    "completed": "bold green",
    "failed": "bold red",
    "running": "bold cyan",
    "sleeping": "bold blue",
    "pending": "bold",
    "cancelled": "bold yellow",
    "rolling_back": "bold yellow",
}


def summarize(value: Any, limit: int = OUTPUT_LIMIT) -> str:
    """``value`` as one line of compact JSON, cut to ``limit`` characters (ending in ``…`` when cut)."""
    text = escape_control(dumps(value))
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def iso(ms: int | None) -> str:
    """A time in ms since the epoch as ISO 8601 in UTC, to the millisecond."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(ms: int | float) -> str:
    """``250 µs``, ``850 ms``, ``12.3 s``, ``4 m 05 s``, ``2 h 03 m``, ``3 d 04 h``."""
    ms = max(0, ms)
    if 0 < ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} m"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def workflow_tree(
    history: WorkflowHistory,
    *,
    title: str,
    color: bool = True,
    now_ms: int | None = None,
    limit: int = OUTPUT_LIMIT,
) -> RenderableType:
    """The tree of ``history`` under a heading naming ``title`` (the actor) and the workflow's state.
    ``now_ms`` (the current time) lets a pending sleep say how long it has left."""
    from rich.tree import Tree

    painter = _Painter(color, history.started_at, now_ms, limit)
    tree = Tree(painter.heading(history, title), guide_style="dim" if color else "")
    for node in history.nodes:
        painter.add(tree, node)
    return tree


class _Painter:
    def __init__(self, color: bool, started_at: int | None, now_ms: int | None, limit: int) -> None:
        self.color = color
        self.started_at = started_at
        self.now_ms = now_ms
        self.limit = limit

    def style(self, style: str) -> str:
        return style if self.color else ""

    def heading(self, history: WorkflowHistory, title: str) -> Text:
        from rich.text import Text

        text = Text()
        text.append(escape_control(title), style=self.style("bold"))
        text.append("  workflow ")
        state = history.state or "unknown"
        text.append(state, style=self.style(_STATE_STYLES.get(state, "bold")))
        if not history.enabled:
            text.append(" (no workflow)")
        elif not history.entries:
            text.append(" · no entries yet", style=self.style("dim"))
        else:
            text.append(f" · {history.entries} entr{'y' if history.entries == 1 else 'ies'}", style=self.style("dim"))
            if history.started_at is not None:
                text.append(f" · started {iso(history.started_at)}", style=self.style("dim"))
        return text

    def add(self, parent: Tree, node: Node) -> None:
        branch = parent.add(self.label(node))
        for child in node.children:
            self.add(branch, child)

    def label(self, node: Node) -> Text:
        from rich.text import Text

        retrying = node.status == "failed" and node.kind in ("step", "loop")
        icon, icon_style = _RETRYING if retrying else _ICONS.get(node.status or "", ("·", "dim"))
        text = Text()
        text.append(f"{icon} ", style=self.style(icon_style))
        text.append(escape_control(node.name), style=self.style("bold"))
        if node.kind != "iteration":
            text.append(f"  {node.kind}", style=self.style("dim"))
        if node.id is not None:
            text.append(f" {node.id[:8]}", style=self.style("dim"))
        parts: list[tuple[str, str]] = []
        if node.status is not None:
            word = "failed, will retry" if retrying else node.status
            parts.append((word, icon_style))
        parts.extend((p, "") for p in self.facts(node))
        for part, style in parts:
            text.append(" · ", style=self.style("dim"))
            text.append(part, style=self.style(style))
        if node.output is not None:
            text.append("  → ", style=self.style("dim"))
            text.append(summarize(node.output, self.limit), style=self.style("cyan"))
        if node.error:
            error = " ".join(escape_control(node.error).split())
            if len(error) > ERROR_LIMIT:
                error = error[: ERROR_LIMIT - 1] + "…"
            text.append("\nerror: ", style=self.style("bold red"))
            text.append(error, style=self.style("red"))
        if node.rollback_error:
            text.append("\nrollback error: ", style=self.style("bold red"))
            text.append(" ".join(escape_control(node.rollback_error).split()), style=self.style("red"))
        return text

    def facts(self, node: Node) -> list[str]:
        facts: list[str] = []
        d = node.details
        if node.attempts is not None and (node.attempts > 1 or node.status in ("failed", "exhausted")):
            facts.append(f"{node.attempts} attempt{'' if node.attempts == 1 else 's'}")
        if node.kind == "loop" and isinstance(d.get("iterations"), int):
            count = d["iterations"]
            kept = sum(1 for c in node.children if c.kind == "iteration")
            facts.append(f"{count} iteration{'' if count == 1 else 's'}" + (f" ({kept} kept)" if kept < count else ""))
        elif node.kind == "race" and d.get("winner"):
            facts.append(f"winner {escape_control(str(d['winner']))}")
        elif node.kind == "branch" and d.get("winner") is False and node.status in ("pending", "running"):
            facts.append("lost the race")
        elif node.kind == "message":
            facts.append(f"message {escape_control(str(d.get('message_name')))} {summarize(d.get('data'), self.limit)}")
        elif node.kind == "rollback_checkpoint" and d.get("checkpoint"):
            facts.append(f"checkpoint {escape_control(str(d['checkpoint']))}")
        elif node.kind == "removed":
            original = " ".join(escape_control(str(v)) for v in (d.get("original_type"), d.get("original_name")) if v)
            facts.append(f"was {original}")
        elif node.kind == "version_check":
            facts.append(f"version {d.get('resolved')} (latest {d.get('latest')})")
        if node.kind == "sleep" and isinstance(d.get("deadline_ms"), int):
            deadline = d["deadline_ms"]
            until = f"until {iso(deadline)}"
            if node.status == "pending" and self.now_ms is not None:
                left = deadline - self.now_ms
                until += f" (in {duration(left)})" if left > 0 else " (due)"
            facts.append(until)
        elif node.kind not in ("iteration", "branch"):
            start = node.started_at
            if start is not None and self.started_at is not None:
                facts.append(f"at +{duration(start - self.started_at)}")
        if node.duration_ms is not None and node.kind not in ("sleep", "iteration"):
            facts.append(f"took {duration(node.duration_ms)}")
        return facts
