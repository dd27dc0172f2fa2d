"""REPL completion analysis (pure) and ranking; the toolbar text without a terminal."""

from __future__ import annotations

import pytest

from rivetctl.repl.completion import Kind, Recent, Slot, Sources, rank, what_goes_here


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("", Slot(Kind.COMMAND, "")),
        ("inc", Slot(Kind.COMMAND, "inc")),
        (".su", Slot(Kind.COMMAND, ".su")),
        (".sub ", Slot(Kind.EVENT, "")),
        (".sub newCount ti", Slot(Kind.EVENT, "ti", ("newCount",))),
        (".unsub n", Slot(Kind.EVENT, "n")),
        (".use ", Slot(Kind.ACTOR_NAME, "")),
        (".use cou", Slot(Kind.ACTOR_NAME, "cou")),
        (".use counter ", Slot(Kind.ACTOR_KEY, "", ("counter",))),
        (".use counter my", Slot(Kind.ACTOR_KEY, "my", ("counter",))),
        (".use counter my-key ", Slot(Kind.NOTHING, "")),
        (".http inc", Slot(Kind.ACTION, "inc")),
        (".encoding c", Slot(Kind.CHOICE, "c", (), ("json", "cbor", "bare"))),
        (".encoding cbor ", Slot(Kind.NOTHING, "")),
        (".events ", Slot(Kind.NOTHING, "")),
        (".params {", Slot(Kind.NOTHING, "{")),
        (".nope x", Slot(Kind.NOTHING, "x")),
        ("increment ", Slot(Kind.NOTHING, "")),
        ("echo 'open quote", Slot(Kind.NOTHING, "")),
    ],
)
def test_what_goes_here(text: str, slot: Slot) -> None:
    assert what_goes_here(text) == slot


def test_recent_most_recent_first_and_bounded() -> None:
    recent = Recent(limit=3)
    recent.add("a", "b", "c")
    recent.add("a")
    assert recent.items == ["a", "c", "b"]
    recent.add("d")
    assert recent.items == ["d", "a", "c"]
    recent.replace_all(["c", "x", "a"])
    assert recent.items == ["a", "c", "x"]


def test_rank_prefix_then_fuzzy() -> None:
    assert rank(["getCount", "increment", "incrementBy", "slowIncrement"], "inc") == [
        "increment",
        "incrementBy",
        "slowIncrement",
    ]
    assert rank(["sendMessage", "getHistory"], "sm") == ["sendMessage"]
    assert rank(["Alpha"], "al") == ["Alpha"]


def test_sources_by_kind() -> None:
    sources = Sources(current_actor="counter")
    sources.for_actor(sources.actions).add("increment", "getCount")
    sources.for_actor(sources.events).add("newCount")
    sources.actor_names.add("counter", "chatRoom")
    sources.for_actor(sources.keys, "chatRoom").add("general")
    assert sources.candidates(Slot(Kind.COMMAND, ""))[:2] == ["getCount", "increment"]
    assert ".help" in sources.candidates(Slot(Kind.COMMAND, ""))
    assert sources.candidates(Slot(Kind.EVENT, "")) == ["newCount"]
    assert sources.candidates(Slot(Kind.EVENT, "", ("newCount",))) == []  # each event once per line
    assert sources.candidates(Slot(Kind.ACTOR_NAME, "")) == ["chatRoom", "counter"]
    assert sources.candidates(Slot(Kind.ACTOR_KEY, "", ("chatRoom",))) == ["general"]
    assert sources.candidates(Slot(Kind.NOTHING, "")) == []
    assert sources.candidates(Slot(Kind.CHOICE, "", (), ("json", "bare"))) == ["json", "bare"]
