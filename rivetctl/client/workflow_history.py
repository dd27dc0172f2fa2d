"""A workflow's history as an actor's inspector gives it (``GET /inspector/workflow-history``), decoded into a
tree of nodes. Pure: no I/O, no clock.

The raw history is flat and in no particular order::

    {"nameRegistry": ["createAccount", "sendEmails", ...],
     "entries": [{"id": "…", "location": [{"tag": "WorkflowNameIndex", "val": 1},
                                          {"tag": "WorkflowLoopIterationMarker", "val": {"loop": 1, "iteration": 0}},
                                          {"tag": "WorkflowNameIndex", "val": 2}],
                  "kind": {"tag": "WorkflowStepEntry", "val": {"output": …, "error": …}}}, ...],
     "entryMetadata": {"<id>": {"status": "COMPLETED", "error": null, "attempts": 1, "lastAttemptAt": …,
                                "createdAt": …, "completedAt": …, "rollbackCompletedAt": …, "rollbackError": …}}}

An entry's ``location`` is its path from the root: names (indices into ``nameRegistry``) and, inside a loop, an
iteration marker. The path's depth is the depth in the tree. Paths that have no entry of their own become
nodes too: a loop's iterations (``iteration N``), a join's or race's branches (``branch``, with the status the
join or race records for it), and any other named scope (``scope``). Only steps and loops carry metadata
(status, attempts, times); a join's or race's status is derived from its branches, a sleep's is its state.

Siblings are ordered by when they started (the earliest ``createdAt`` in their subtree); an entry without
times (a sleep) is placed by its deadline, else after the sibling registered before it. The field names and
kinds follow RivetKit 2.3's workflow engine (``@rivetkit/workflow-engine`` types, rivetkit's
``src/workflow/inspector.ts`` and the native runtime's JSON serialisation of the history).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rivetctl.errors import ProtocolError

KINDS = {
    "WorkflowStepEntry": "step",
    "WorkflowLoopEntry": "loop",
    "WorkflowSleepEntry": "sleep",
    "WorkflowMessageEntry": "message",
    "WorkflowRollbackCheckpointEntry": "rollback_checkpoint",
    "WorkflowJoinEntry": "join",
    "WorkflowRaceEntry": "race",
    "WorkflowRemovedEntry": "removed",
    "WorkflowVersionCheckEntry": "version_check",
}
"""The server's entry kind tags → the short names used in the tree and in JSON. Nodes without an entry of
their own have the kinds ``iteration``, ``branch`` and ``scope``."""

FINAL_STATES = frozenset({"completed", "failed", "cancelled"})
"""Workflow states after which nothing more happens unless someone replays it."""

_NAME = "WorkflowNameIndex"
_ITERATION = "WorkflowLoopIterationMarker"

Segment = tuple[str, int, int]
"""``("n", name_index, 0)`` or ``("i", loop_name_index, iteration)``."""


@dataclass
class Node:
    """One node of the tree: an entry of the history, or a path between entries (iteration, branch, scope).

    Times are in milliseconds since the epoch, as the server gives them. ``output`` is ``None`` both for no
    output and for a ``null`` one (the server does not tell them apart)."""

    name: str
    kind: str
    location: str
    """The engine's key for the path: names joined by ``/``, ``~N`` for loop iteration N."""
    id: str | None = None
    status: str | None = None
    attempts: int | None = None
    created_at: int | None = None
    last_attempt_at: int | None = None
    completed_at: int | None = None
    error: str | None = None
    output: Any = None
    rollback_completed_at: int | None = None
    rollback_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """What only this kind has: a loop's ``iterations`` and ``state``, a sleep's ``deadline_ms``, a race's
    ``winner``, an iteration's ``iteration``, a race branch's ``winner`` flag, a message's ``message_name``
    and ``data``, a removed entry's ``original_type`` and ``original_name``, a version check's ``resolved``
    and ``latest``."""
    children: list[Node] = field(default_factory=list)
    order: int = 0
    """Registration order among siblings (the name's index, or the iteration number)."""

    @property
    def started_at(self) -> int | None:
        """When the node started: its own ``createdAt``, else the earliest one below it."""
        if self.created_at is not None:
            return self.created_at
        starts = [s for s in (c.started_at for c in self.children) if s is not None]
        return min(starts) if starts else None

    @property
    def ended_at(self) -> int | None:
        """When the node finished: its own ``completedAt``; for a node without one that completed, the latest
        end below it."""
        if self.completed_at is not None:
            return self.completed_at
        if self.kind == "sleep" and self.status == "completed":
            deadline = self.details.get("deadline_ms")
            return deadline if isinstance(deadline, int) else None
        if self.status != "completed" or self.kind in ("step", "loop"):
            return None
        if self.kind == "race":  # ends with its winner; the losers are dropped
            winners = [c for c in self.children if c.details.get("winner")]
            return winners[0].ended_at if winners else None
        ends = [c.ended_at for c in self.children]
        return max(e for e in ends if e is not None) if ends and all(e is not None for e in ends) else None

    @property
    def duration_ms(self) -> int | None:
        start, end = self.started_at, self.ended_at
        return end - start if start is not None and end is not None else None

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first, in order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "location": self.location,
            "id": self.id,
            "status": self.status,
            "attempts": self.attempts,
            "started_at_ms": self.started_at,
            "last_attempt_at_ms": self.last_attempt_at,
            "ended_at_ms": self.ended_at,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "output": self.output,
        }
        if self.rollback_completed_at is not None or self.rollback_error is not None:
            doc["rollback_completed_at_ms"] = self.rollback_completed_at
            doc["rollback_error"] = self.rollback_error
        doc.update(self.details)
        doc["children"] = [c.to_json() for c in self.children]
        return doc


@dataclass
class WorkflowHistory:
    """The decoded answer of the inspector's workflow route."""

    enabled: bool
    """``isWorkflowEnabled``: false for an actor whose ``run`` is not a workflow."""
    state: str | None
    """``workflowState``: pending, running, sleeping, failed, completed, cancelled or rolling_back."""
    nodes: list[Node]
    """The top-level nodes, in order."""
    entries: int
    """How many entries the raw history holds."""

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def started_at(self) -> int | None:
        starts = [s for s in (n.started_at for n in self.nodes) if s is not None]
        return min(starts) if starts else None

    def walk(self) -> Iterator[Node]:
        for node in self.nodes:
            yield from node.walk()

    def find(self, entry_id: str) -> list[Node]:
        """The entries whose id is ``entry_id``, or else the ones whose id starts with it."""
        if not entry_id:
            return []
        with_id = [n for n in self.walk() if n.id is not None]
        exact = [n for n in with_id if n.id == entry_id]
        return exact or [n for n in with_id if n.id is not None and n.id.startswith(entry_id)]

    def replay_boundary(self, node: Node) -> Node:
        """The entry a replay from ``node`` really starts at: the innermost loop around it (a loop re-runs
        from its start), else the node itself. The engine's ``replayWorkflowFromStep`` does the same."""
        boundary = node
        for candidate in self.walk():
            if (
                candidate.kind == "loop"
                and candidate is not node
                and node.location.startswith(candidate.location + "/")
                and (boundary is node or len(candidate.location) > len(boundary.location))
            ):
                boundary = candidate
        return boundary

    def replay_drops(self, node: Node) -> list[Node]:
        """The entries a replay from ``node`` drops, as the engine's ``replayWorkflowFromStep`` picks them: it
        orders the entries by ``createdAt`` (an entry without metadata, such as a sleep, a join or a race,
        counting as created now) and drops everything from :meth:`replay_boundary` on."""
        boundary = self.replay_boundary(node)
        if boundary.created_at is None:
            return [n for n in self.walk() if n.id is not None and n.created_at is None]
        start = (boundary.created_at, boundary.location)
        return [
            n for n in self.walk() if n.id is not None and (n.created_at is None or (n.created_at, n.location) >= start)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow_state": self.state,
            "workflow_enabled": self.enabled,
            "entries": self.entries,
            "history": [n.to_json() for n in self.nodes],
        }


def decode(answer: Mapping[str, Any]) -> WorkflowHistory:
    """Decode ``{"history", "workflowState", "isWorkflowEnabled"}`` (the workflow route's answer, or the replay
    route's). ``ProtocolError`` when the history is not shaped as RivetKit's."""
    enabled = bool(answer.get("isWorkflowEnabled"))
    state = answer.get("workflowState")
    raw = answer.get("history")
    if raw is None:
        return WorkflowHistory(enabled, str(state) if state is not None else None, [], 0)
    if not isinstance(raw, Mapping):
        raise ProtocolError("workflow history is not an object")
    registry = raw.get("nameRegistry") or []
    entries = raw.get("entries") or []
    metadata = raw.get("entryMetadata") or {}
    if not isinstance(registry, list) or not isinstance(entries, list) or not isinstance(metadata, Mapping):
        raise ProtocolError("workflow history lacks nameRegistry, entries or entryMetadata")
    names = [str(n) for n in registry]
    tree = _Tree(names)
    for raw_entry in entries:
        if not isinstance(raw_entry, Mapping):
            raise ProtocolError("workflow history entry is not an object")
        path = _path(raw_entry.get("location"))
        entry_id = raw_entry.get("id")
        meta = metadata.get(entry_id) if isinstance(entry_id, str) else None
        tree.add(path, _entry_node(tree, path, raw_entry, meta if isinstance(meta, Mapping) else None))
    roots = tree.finish()
    return WorkflowHistory(enabled, str(state) if state is not None else None, roots, len(entries))


# -- building the tree ------------------------------------------------------------------------------------------


def _path(location: Any) -> tuple[Segment, ...]:
    if not isinstance(location, list) or not location:
        raise ProtocolError("workflow history entry has no location")
    path: list[Segment] = []
    for segment in location:
        tag = segment.get("tag") if isinstance(segment, Mapping) else None
        val = segment.get("val") if isinstance(segment, Mapping) else None
        if tag == _NAME and isinstance(val, int):
            path.append(("n", val, 0))
        elif tag == _ITERATION and isinstance(val, Mapping):
            loop, iteration = val.get("loop"), val.get("iteration")
            if not isinstance(loop, int) or not isinstance(iteration, int):
                raise ProtocolError("workflow loop iteration marker without loop or iteration")
            path.append(("i", loop, iteration))
        else:
            raise ProtocolError(f"unknown workflow location segment {tag!r}")
    return tuple(path)


class _Tree:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.nodes: dict[tuple[Segment, ...], Node] = {}

    def name(self, index: int) -> str:
        return self.names[index] if 0 <= index < len(self.names) else f"#{index}"

    def location(self, path: tuple[Segment, ...]) -> str:
        return "/".join(self.name(s[1]) if s[0] == "n" else f"~{s[2]}" for s in path)

    def add(self, path: tuple[Segment, ...], node: Node) -> None:
        self.nodes[path] = node  # replaces a placeholder made for an entry below it that came first
        self._attach_parents(path)

    def _attach_parents(self, path: tuple[Segment, ...]) -> None:
        for depth in range(len(path) - 1, 0, -1):
            parent = path[:depth]
            if parent in self.nodes:
                continue
            self.nodes[parent] = self._placeholder(parent)

    def _placeholder(self, path: tuple[Segment, ...]) -> Node:
        last = path[-1]
        location = self.location(path)
        if last[0] == "i":
            return Node(f"iteration {last[2]}", "iteration", location, details={"iteration": last[2]}, order=last[2])
        return Node(self.name(last[1]), "scope", location, order=last[1])

    def finish(self) -> list[Node]:
        roots: list[Node] = []
        for path, node in self.nodes.items():
            if len(path) == 1:
                roots.append(node)
            else:
                self.nodes[path[:-1]].children.append(node)
        for node in self.nodes.values():
            if node.kind in ("join", "race"):
                _branches(node)
        for node in self.nodes.values():
            _order(node.children)
        _order(roots)
        for root in roots:
            _derive_status(root)
        return roots


def _branches(node: Node) -> None:
    """A join's or race's branches as its children: one node per branch it records (a branch that never
    registered an entry included), holding the status, output and error the join or race keeps for it."""
    branches: dict[str, dict[str, Any]] = node.details.pop("branches", {})
    by_name = {child.name: child for child in node.children if child.kind == "scope"}
    for position, (branch_name, branch) in enumerate(branches.items()):
        child = by_name.get(branch_name)
        if child is None:
            child = Node(branch_name, "scope", f"{node.location}/{branch_name}", order=(1 << 30) + position)
            node.children.append(child)
        child.kind = "branch"
        child.status = branch["status"]
        child.output = branch["output"]
        child.error = branch["error"]
        if node.kind == "race":
            child.details["winner"] = branch_name == node.details.get("winner")


def _entry_node(tree: _Tree, path: tuple[Segment, ...], raw: Mapping[str, Any], meta: Mapping[str, Any] | None) -> Node:
    last = path[-1]
    name = tree.name(last[1]) if last[0] == "n" else f"iteration {last[2]}"
    kind_raw = raw.get("kind")
    tag = kind_raw.get("tag") if isinstance(kind_raw, Mapping) else None
    val = kind_raw.get("val") if isinstance(kind_raw, Mapping) else None
    val = val if isinstance(val, Mapping) else {}
    entry_id = raw.get("id")
    node = Node(
        name,
        KINDS.get(str(tag), str(tag)),
        tree.location(path),
        id=str(entry_id) if entry_id is not None else None,
        order=last[1] if last[0] == "n" else last[2],
    )
    if meta is not None:
        node.status = _lower(meta.get("status"))
        node.attempts = _int(meta.get("attempts"))
        node.created_at = _time(meta.get("createdAt"))
        node.last_attempt_at = _time(meta.get("lastAttemptAt"))
        node.completed_at = _time(meta.get("completedAt"))
        node.error = _str(meta.get("error"))
        node.rollback_completed_at = _time(meta.get("rollbackCompletedAt"))
        node.rollback_error = _str(meta.get("rollbackError"))
    kind = node.kind
    if kind == "step":
        node.output = val.get("output")
        node.error = node.error or _str(val.get("error"))
    elif kind == "loop":
        node.output = val.get("output")
        node.details = {"iterations": _int(val.get("iteration")), "state": val.get("state")}
    elif kind == "sleep":
        node.status = _lower(val.get("state"))
        node.details = {"deadline_ms": _time(val.get("deadline"))}
    elif kind == "message":
        node.details = {"message_name": _str(val.get("name")), "data": val.get("messageData")}
    elif kind == "rollback_checkpoint":
        node.details = {"checkpoint": _str(val.get("name"))}
    elif kind in ("join", "race"):
        raw_branches = val.get("branches")
        branches: dict[str, dict[str, Any]] = {}
        if isinstance(raw_branches, Mapping):
            for branch_name, branch in raw_branches.items():
                branch = branch if isinstance(branch, Mapping) else {}
                branches[str(branch_name)] = {
                    "status": _lower(branch.get("status")),
                    "output": branch.get("output"),
                    "error": _str(branch.get("error")),
                }
        node.details = {"branches": branches}
        if kind == "race":
            node.details["winner"] = _str(val.get("winner"))
    elif kind == "removed":
        node.details = {"original_type": _str(val.get("originalType")), "original_name": _str(val.get("originalName"))}
    elif kind == "version_check":
        node.details = {"resolved": val.get("resolved"), "latest": val.get("latest")}
    else:
        node.details = {"raw": dict(val)}
    return node


def _order(siblings: list[Node]) -> None:
    """Sort siblings by when they started; a node without times (a sleep, a placeholder with nothing below it)
    takes its deadline, else the time of the sibling registered just before it."""
    if all(n.kind == "iteration" for n in siblings):
        siblings.sort(key=lambda n: n.order)
        return
    keys: dict[int, tuple[int, int, int]] = {}
    last: int | None = None
    for node in sorted(siblings, key=lambda n: n.order):
        when = node.started_at
        if when is None:
            deadline = node.details.get("deadline_ms") if node.kind == "sleep" else None
            when = max(deadline, last) if isinstance(deadline, int) and last is not None else deadline
            when = last if when is None else when
        if when is not None:
            last = when if last is None else max(last, when)
        keys[id(node)] = (0 if when is not None else 1, when or 0, node.order)
    siblings.sort(key=lambda n: keys[id(n)])


def _derive_status(node: Node) -> None:
    """Give nodes without a status of their own (joins, races, iterations, scopes) one from their children:
    failed when one failed for good (for a race: all of them), completed when all are done, pending when none
    started, else running."""
    for child in node.children:
        _derive_status(child)
    if node.status is not None:
        return
    if node.kind == "race" and node.details.get("winner"):
        node.status = "completed"
        return
    outcomes = [_outcome(c) for c in node.children]
    if not outcomes:
        return
    failed = all(o == "failed" for o in outcomes) if node.kind == "race" else "failed" in outcomes
    if failed:
        node.status = "failed"
    elif all(o == "done" for o in outcomes):
        node.status = "completed"
    elif all(o == "pending" for o in outcomes):
        node.status = "pending"
    else:
        node.status = "running"


def _outcome(node: Node) -> str:
    """done, failed (for good), pending or active. A step or loop marked failed will be retried; a branch
    marked failed will not."""
    status = node.status
    if status in ("completed", "cancelled", "interrupted"):
        return "done"
    if status == "exhausted" or (status == "failed" and node.kind not in ("step", "loop")):
        return "failed"
    return "pending" if status == "pending" else "active"


def _lower(value: Any) -> str | None:
    return str(value).lower() if value is not None else None


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _time(value: Any) -> int | None:
    """A time in ms; the server writes 0 for "never" (``lastAttemptAt`` of a loop)."""
    number = _int(value)
    return number if number else None
