"""Decoding a workflow history into a tree, and drawing it: histories shaped as RivetKit 2.3.19's inspector
answers them (``GET /inspector/workflow-history`` of the example registry's onboarding, payment and fanout
actors), entries in the server's own arbitrary order."""

from __future__ import annotations

import copy
import io
import random
from typing import Any

import pytest

from rivetctl.client.workflow_history import WorkflowHistory, decode
from rivetctl.errors import ProtocolError
from rivetctl.output.workflow_tree import duration, summarize, workflow_tree

T0 = 1796544354298


def _name(i: int) -> dict[str, Any]:
    return {"tag": "WorkflowNameIndex", "val": i}


def _iteration(loop: int, n: int) -> dict[str, Any]:
    return {"tag": "WorkflowLoopIterationMarker", "val": {"loop": loop, "iteration": n}}


def _step(output: Any = None, error: str | None = None) -> dict[str, Any]:
    return {"tag": "WorkflowStepEntry", "val": {"output": output, "error": error}}


def _meta(status: str, created: int, completed: int | None, attempts: int = 1, error: str | None = None) -> Any:
    return {
        "status": status,
        "error": error,
        "attempts": attempts,
        "lastAttemptAt": created,
        "createdAt": created,
        "completedAt": completed,
        "rollbackCompletedAt": None,
        "rollbackError": None,
    }


ONBOARDING: dict[str, Any] = {
    "history": {
        "nameRegistry": ["createAccount", "sendEmails", "sendEmail", "cooldown", "finish"],
        "entries": [
            {
                "id": "808a1005-9699-45dd-90de-09f1144e6a9e",
                "location": [_name(3)],
                "kind": {"tag": "WorkflowSleepEntry", "val": {"deadline": T0 + 215, "state": "COMPLETED"}},
            },
            {"id": "ac1eeaf9-0000-4000-8000-000000000001", "location": [_name(0)], "kind": _step("guest")},
            {"id": "a8c3f298-0000-4000-8000-000000000002", "location": [_name(4)], "kind": _step()},
            {
                "id": "f1bada90-0000-4000-8000-000000000003",
                "location": [_name(1)],
                "kind": {"tag": "WorkflowLoopEntry", "val": {"state": 3, "iteration": 3, "output": 3}},
            },
            *(
                {
                    "id": f"{['a4c72fc3', '1d0f295a', 'cb0554d8'][n]}-0000-4000-8000-00000000001{n}",
                    "location": [_name(1), _iteration(1, n), _name(2)],
                    "kind": _step(),
                }
                for n in (2, 0, 1)
            ),
        ],
        "entryMetadata": {
            "ac1eeaf9-0000-4000-8000-000000000001": _meta("COMPLETED", T0, T0 + 1),
            "a8c3f298-0000-4000-8000-000000000002": _meta("COMPLETED", T0 + 224, T0 + 225),
            "f1bada90-0000-4000-8000-000000000003": {
                **_meta("COMPLETED", T0 + 5, T0 + 14, attempts=0),
                "lastAttemptAt": 0,
            },
            "a4c72fc3-0000-4000-8000-000000000010": _meta("COMPLETED", T0 + 6, T0 + 6),
            "1d0f295a-0000-4000-8000-000000000011": _meta("COMPLETED", T0 + 9, T0 + 9),
            "cb0554d8-0000-4000-8000-000000000012": _meta("COMPLETED", T0 + 11, T0 + 11),
        },
    },
    "workflowState": "completed",
    "isWorkflowEnabled": True,
}

PAYMENT: dict[str, Any] = {
    "history": {
        "nameRegistry": ["reserveFunds", "chargeCard"],
        "entries": [
            {"id": "454a21bb", "location": [_name(1)], "kind": _step(None, "Error: card declined (attempt 3)")},
            {"id": "6e0e4e20", "location": [_name(0)], "kind": _step(42)},
        ],
        "entryMetadata": {
            "454a21bb": _meta("EXHAUSTED", T0 + 1, None, attempts=3, error="Error: card declined (attempt 3)"),
            "6e0e4e20": _meta("COMPLETED", T0, T0),
        },
    },
    "workflowState": "failed",
    "isWorkflowEnabled": True,
}

FANOUT: dict[str, Any] = {
    "history": {
        "nameRegistry": [
            "gather",
            "left",
            "fetchLeft",
            "right",
            "fetchRight",
            "fastest",
            "quick",
            "quickAnswer",
            "slow",
            "slowTimer",
            "record",
        ],
        "entries": [
            {
                "id": "178be42d",
                "location": [_name(5)],
                "kind": {
                    "tag": "WorkflowRaceEntry",
                    "val": {
                        "winner": "quick",
                        "branches": {
                            "quick": {"status": "COMPLETED", "output": 42, "error": None},
                            "slow": {"status": "RUNNING", "output": None, "error": None},
                        },
                    },
                },
            },
            {"id": "c9a6a610", "location": [_name(5), _name(6), _name(7)], "kind": _step(42)},
            {
                "id": "a4d83b04",
                "location": [_name(0)],
                "kind": {
                    "tag": "WorkflowJoinEntry",
                    "val": {
                        "branches": {
                            "left": {"status": "COMPLETED", "output": "left data", "error": None},
                            "right": {"status": "COMPLETED", "output": {"rows": 3}, "error": None},
                        }
                    },
                },
            },
            {"id": "54ac1d2a", "location": [_name(0), _name(1), _name(2)], "kind": _step("left data")},
            {"id": "ed0f7126", "location": [_name(0), _name(3), _name(4)], "kind": _step({"rows": 3})},
            {"id": "ee42de3b", "location": [_name(10)], "kind": _step()},
        ],
        "entryMetadata": {
            "c9a6a610": _meta("COMPLETED", T0 + 7, T0 + 8),
            "54ac1d2a": _meta("COMPLETED", T0, T0),
            "ed0f7126": _meta("COMPLETED", T0, T0 + 1),
            "ee42de3b": _meta("COMPLETED", T0 + 14, T0 + 14),
        },
    },
    "workflowState": "completed",
    "isWorkflowEnabled": True,
}


def _outline(history: WorkflowHistory) -> list[tuple[int, str, str, str | None]]:
    out = []

    def visit(node: Any, depth: int) -> None:
        out.append((depth, node.name, node.kind, node.status))
        for child in node.children:
            visit(child, depth + 1)

    for node in history.nodes:
        visit(node, 0)
    return out


def test_onboarding_becomes_steps_a_loop_with_iterations_and_a_sleep_in_order() -> None:
    history = decode(ONBOARDING)
    assert (history.enabled, history.state, history.entries, history.final) == (True, "completed", 7, True)
    assert _outline(history) == [
        (0, "createAccount", "step", "completed"),
        (0, "sendEmails", "loop", "completed"),
        (1, "iteration 0", "iteration", "completed"),
        (2, "sendEmail", "step", "completed"),
        (1, "iteration 1", "iteration", "completed"),
        (2, "sendEmail", "step", "completed"),
        (1, "iteration 2", "iteration", "completed"),
        (2, "sendEmail", "step", "completed"),
        (0, "cooldown", "sleep", "completed"),  # no metadata: placed by its deadline
        (0, "finish", "step", "completed"),
    ]
    first, loop = history.nodes[0], history.nodes[1]
    assert (first.output, first.attempts, first.started_at, first.duration_ms) == ("guest", 1, T0, 1)
    assert loop.details == {"iterations": 3, "state": 3} and loop.output == 3
    assert loop.last_attempt_at is None  # the server's 0 means never
    assert [n.location for n in loop.walk()][:3] == ["sendEmails", "sendEmails/~0", "sendEmails/~0/sendEmail"]
    assert history.started_at == T0


def test_the_order_of_entries_in_the_answer_does_not_matter() -> None:
    expected = decode(ONBOARDING).to_json()
    for seed in range(5):
        shuffled = copy.deepcopy(ONBOARDING)
        random.Random(seed).shuffle(shuffled["history"]["entries"])
        assert decode(shuffled).to_json() == expected


def test_an_exhausted_step_keeps_its_attempts_and_error() -> None:
    history = decode(PAYMENT)
    assert history.state == "failed" and history.final
    charge = history.nodes[1]
    assert (charge.name, charge.status, charge.attempts, charge.error) == (
        "chargeCard",
        "exhausted",
        3,
        "Error: card declined (attempt 3)",
    )
    assert charge.ended_at is None and charge.duration_ms is None


def test_joins_and_races_have_their_branches_as_children() -> None:
    history = decode(FANOUT)
    assert _outline(history) == [
        (0, "gather", "join", "completed"),
        (1, "left", "branch", "completed"),
        (2, "fetchLeft", "step", "completed"),
        (1, "right", "branch", "completed"),
        (2, "fetchRight", "step", "completed"),
        (0, "fastest", "race", "completed"),
        (1, "quick", "branch", "completed"),
        (2, "quickAnswer", "step", "completed"),
        (1, "slow", "branch", "running"),  # the loser: its entries dropped, its status as the race left it
        (0, "record", "step", "completed"),
    ]
    gather, race = history.nodes[0], history.nodes[1]
    assert gather.children[1].output == {"rows": 3} and gather.children[1].location == "gather/right"
    assert race.details == {"winner": "quick"}
    assert [c.details for c in race.children] == [{"winner": True}, {"winner": False}]
    assert gather.duration_ms == 1 and race.duration_ms == 1  # a race ends with its winner


def test_a_join_with_a_failed_branch_and_a_pending_one_that_never_ran() -> None:
    answer = {
        "history": {
            "nameRegistry": ["gather", "left", "fetchLeft"],
            "entries": [
                {
                    "id": "j",
                    "location": [_name(0)],
                    "kind": {
                        "tag": "WorkflowJoinEntry",
                        "val": {
                            "branches": {
                                "left": {"status": "FAILED", "output": None, "error": "Error: boom"},
                                "right": {"status": "PENDING", "output": None, "error": None},
                            }
                        },
                    },
                },
                {"id": "s", "location": [_name(0), _name(1), _name(2)], "kind": _step(None, "Error: boom")},
            ],
            "entryMetadata": {"s": _meta("EXHAUSTED", T0, None, attempts=4, error="Error: boom")},
        },
        "workflowState": "failed",
        "isWorkflowEnabled": True,
    }
    history = decode(answer)
    assert _outline(history) == [
        (0, "gather", "join", "failed"),
        (1, "left", "branch", "failed"),
        (2, "fetchLeft", "step", "exhausted"),
        (1, "right", "branch", "pending"),
    ]
    assert history.nodes[0].children[0].error == "Error: boom"


def test_a_retrying_step_keeps_its_iteration_running() -> None:
    answer = copy.deepcopy(ONBOARDING)
    answer["workflowState"] = "sleeping"
    meta = answer["history"]["entryMetadata"]
    meta["cb0554d8-0000-4000-8000-000000000012"].update(status="FAILED", completedAt=None, attempts=2, error="E")
    history = decode(answer)
    iteration = history.nodes[1].children[2]
    assert (iteration.status, iteration.children[0].status) == ("running", "failed")
    assert not history.final


@pytest.mark.parametrize(
    "answer",
    [
        {"history": None, "workflowState": None, "isWorkflowEnabled": False},
        {"history": None, "workflowState": "pending", "isWorkflowEnabled": True},
    ],
)
def test_no_history(answer: dict[str, Any]) -> None:
    history = decode(answer)
    assert history.nodes == [] and history.entries == 0 and history.enabled is answer["isWorkflowEnabled"]
    assert history.to_json()["history"] == []


def test_other_entry_kinds_keep_what_they_carry() -> None:
    answer = {
        "history": {
            "nameRegistry": ["inbox", "checkpoint", "old", "v"],
            "entries": [
                {
                    "id": "m",
                    "location": [_name(0)],
                    "kind": {"tag": "WorkflowMessageEntry", "val": {"name": "jobs", "messageData": {"n": 1}}},
                },
                {
                    "id": "c",
                    "location": [_name(1)],
                    "kind": {"tag": "WorkflowRollbackCheckpointEntry", "val": {"name": "cp"}},
                },
                {
                    "id": "r",
                    "location": [_name(2)],
                    "kind": {"tag": "WorkflowRemovedEntry", "val": {"originalType": "step", "originalName": "old"}},
                },
                {
                    "id": "v",
                    "location": [_name(3)],
                    "kind": {"tag": "WorkflowVersionCheckEntry", "val": {"resolved": 2, "latest": 3}},
                },
            ],
            "entryMetadata": {},
        },
        "workflowState": "running",
        "isWorkflowEnabled": True,
    }
    nodes = decode(answer).nodes
    assert [(n.kind, n.details) for n in nodes] == [
        ("message", {"message_name": "jobs", "data": {"n": 1}}),
        ("rollback_checkpoint", {"checkpoint": "cp"}),
        ("removed", {"original_type": "step", "original_name": "old"}),
        ("version_check", {"resolved": 2, "latest": 3}),
    ]


def test_find_by_id_or_by_its_start_and_the_replay_boundary() -> None:
    history = decode(ONBOARDING)
    (node,) = history.find("1d0f295a")
    assert node.location == "sendEmails/~1/sendEmail"
    assert history.find("1d0f295a-0000-4000-8000-000000000011") == [node]
    assert history.find("zzz") == [] and history.find("") == []
    assert len(history.find("a")) == 3  # ac1eeaf9, a8c3f298, a4c72fc3
    assert history.replay_boundary(node).name == "sendEmails"  # a step in a loop re-runs the loop
    first = history.find("ac1eeaf9")[0]
    assert history.replay_boundary(first) is first


def test_what_a_replay_drops_as_the_engine_orders_entries() -> None:
    history = decode(ONBOARDING)
    locations = [[n.location for n in history.replay_drops(history.find(i)[0])] for i in ("a8c3", "1d0f", "ac1e")]
    # A sleep has no createdAt: RivetKit's replay counts it as created now and drops it whatever the target.
    assert locations[0] == ["cooldown", "finish"]
    assert locations[1] == [
        "sendEmails",
        "sendEmails/~0/sendEmail",
        "sendEmails/~1/sendEmail",
        "sendEmails/~2/sendEmail",
        "cooldown",
        "finish",
    ]
    assert len(locations[2]) == 7
    fanout = decode(FANOUT)
    assert [n.location for n in fanout.replay_drops(fanout.find("ee42")[0])] == ["gather", "fastest", "record"]


def test_json_form() -> None:
    doc = decode(PAYMENT).to_json()
    assert (doc["workflow_state"], doc["workflow_enabled"], doc["entries"]) == ("failed", True, 2)
    charge = doc["history"][1]
    assert charge == {
        "name": "chargeCard",
        "kind": "step",
        "location": "chargeCard",
        "id": "454a21bb",
        "status": "exhausted",
        "attempts": 3,
        "started_at_ms": T0 + 1,
        "last_attempt_at_ms": T0 + 1,
        "ended_at_ms": None,
        "duration_ms": None,
        "error": "Error: card declined (attempt 3)",
        "output": None,
        "children": [],
    }
    sleep = decode(ONBOARDING).to_json()["history"][2]
    assert (sleep["kind"], sleep["status"], sleep["deadline_ms"], sleep["ended_at_ms"]) == (
        "sleep",
        "completed",
        T0 + 215,
        T0 + 215,
    )


@pytest.mark.parametrize(
    "history",
    [
        "nope",
        {"nameRegistry": [], "entries": "x", "entryMetadata": {}},
        {"nameRegistry": [], "entries": [{"id": "a", "location": [], "kind": _step()}], "entryMetadata": {}},
        {"nameRegistry": [], "entries": [{"id": "a", "location": [{"tag": "Mystery"}], "kind": _step()}]},
    ],
)
def test_a_history_not_shaped_as_rivetkits_is_a_protocol_error(history: Any) -> None:
    with pytest.raises(ProtocolError):
        decode({"history": history, "workflowState": "running", "isWorkflowEnabled": True})


# -- drawing ---------------------------------------------------------------------------------------------------


def _draw(answer: dict[str, Any], now_ms: int | None = None) -> str:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=200, no_color=True, highlight=False)
    console.print(workflow_tree(decode(answer), title='onboarding ["u1"]', color=False, now_ms=now_ms))
    return out.getvalue()


def test_tree_shows_state_on_top_then_every_node() -> None:
    text = _draw(ONBOARDING)
    lines = text.splitlines()
    assert lines[0] == 'onboarding ["u1"]  workflow completed · 7 entries · started 2026-12-06T08:05:54.298Z'
    assert '✓ createAccount  step ac1eeaf9 · completed · at +0 ms · took 1 ms  → "guest"' in lines[1]
    assert "sendEmails  loop f1bada90 · completed · 3 iterations · at +5 ms · took 9 ms  → 3" in lines[2]
    assert "✓ iteration 1 · completed" in text
    assert "cooldown  sleep 808a1005 · completed · until 2026-12-06T08:05:54.513Z" in text
    assert lines[-1].startswith("└── ✓ finish  step a8c3f298 · completed · at +224 ms")


def test_tree_shows_errors_attempts_branches_and_winner() -> None:
    text = _draw(PAYMENT)
    assert "✗ chargeCard  step 454a21bb · exhausted · 3 attempts · at +1 ms" in text
    assert "error: Error: card declined (attempt 3)" in text
    text = _draw(FANOUT)
    assert "fastest  race 178be42d · completed · winner quick" in text
    assert "slow  branch · running · lost the race" in text
    assert '✓ left  branch · completed · took 0 ms  → "left data"' in text


def test_a_pending_sleep_says_how_long_is_left() -> None:
    answer = {
        "history": {
            "nameRegistry": ["waitADay"],
            "entries": [
                {
                    "id": "s",
                    "location": [_name(0)],
                    "kind": {"tag": "WorkflowSleepEntry", "val": {"deadline": T0 + 86_400_000, "state": "PENDING"}},
                }
            ],
            "entryMetadata": {},
        },
        "workflowState": "sleeping",
        "isWorkflowEnabled": True,
    }
    text = _draw(answer, now_ms=T0 + 60_000)
    assert (
        "workflow sleeping" in text
        and "○ waitADay  sleep s · pending · until 2026-12-07T08:05:54.298Z (in 23 h 59 m)" in text
    )


def test_outputs_are_cut_in_the_tree_and_whole_in_json() -> None:
    answer = copy.deepcopy(PAYMENT)
    answer["history"]["entries"][1]["kind"]["val"]["output"] = {"blob": "x" * 500}
    assert '→ {"blob": "' + "x" * 49 + "…" in _draw(answer)
    assert decode(answer).to_json()["history"][0]["output"] == {"blob": "x" * 500}
    assert summarize("ab\x1b[31m", 60) == '"ab\\u001b[31m"'
    assert summarize(list(range(100)), 10) == "[0, 1, 2,…"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 ms"),
        (0.25, "250 µs"),
        (850, "850 ms"),
        (12_340, "12.3 s"),
        (245_000, "4 m 05 s"),
        (7_380_000, "2 h 03 m"),
    ],
)
def test_durations(ms: float, text: str) -> None:
    assert duration(ms) == text
