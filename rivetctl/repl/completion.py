"""REPL completion: ``what_goes_here`` (pure: which kind of word is being typed) separated from the
``Sources`` that learn values (action names, events, actor names and keys; most recent first)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from rivetctl.repl.commands import COMMANDS

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document


class Kind(Enum):
    COMMAND = "command"  # an action name or a dot-command (first word)
    ACTION = "action"  # e.g. after .http
    EVENT = "event"  # after .sub / .unsub
    ACTOR_NAME = "actor_name"  # first word after .use
    ACTOR_KEY = "actor_key"  # second word after .use
    CHOICE = "choice"  # one of a dot-command's fixed words (.encoding json|cbor|bare)
    NOTHING = "nothing"


WORD_KINDS = {"ACTION": Kind.ACTION, "EVENT": Kind.EVENT, "NAME": Kind.ACTOR_NAME, "KEY": Kind.ACTOR_KEY}
"""What a dot-command's argument word (its metavar in the command table) completes to."""


@dataclass(frozen=True)
class Slot:
    kind: Kind
    prefix: str
    context: tuple[str, ...] = ()
    """The command's words before the one being completed (e.g. the actor name when completing a key)."""
    choices: tuple[str, ...] = ()
    """For ``Kind.CHOICE``: the words allowed."""


def what_goes_here(text: str) -> Slot:
    """Classify the word under the cursor from the text before it (pure; table-tested).

    After a dot-command, its argument grammar in :data:`~rivetctl.repl.commands.COMMANDS` says what each
    position takes.
    """
    try:
        words = shlex.split(text, posix=True)
    except ValueError:  # an open quote: complete nothing rather than guess
        return Slot(Kind.NOTHING, "")
    if text.endswith((" ", "\t")) or not text:
        words.append("")
    if not words:
        return Slot(Kind.COMMAND, "")
    prefix = words[-1]
    if len(words) == 1:
        return Slot(Kind.COMMAND, prefix)
    command = COMMANDS.get(words[0].lower())
    word = command.word_at(len(words) - 2) if command is not None and not command.raw else None
    if word is None:
        return Slot(Kind.NOTHING, prefix)
    context = tuple(words[1:-1])
    if word.choices:
        return Slot(Kind.CHOICE, prefix, context, word.choices)
    return Slot(WORD_KINDS.get(word.metavar, Kind.NOTHING), prefix, context)


@dataclass
class Recent:
    """Values, most recently used first; bounded."""

    limit: int = 500
    items: list[str] = field(default_factory=list)

    def add(self, *values: str) -> None:
        for value in values:
            if not value:
                continue
            if value in self.items:
                self.items.remove(value)
            self.items.insert(0, value)
        del self.items[self.limit :]

    def replace_all(self, values: Iterable[str]) -> None:
        """Keep the recent ordering for known values; append the new ones."""
        values = list(values)
        kept = [v for v in self.items if v in values]
        self.items = kept + [v for v in sorted(values) if v not in kept]


@dataclass
class Sources:
    """What completion can offer; filled by the session as it learns (never by a network call on Tab)."""

    actions: dict[str, Recent] = field(default_factory=dict)
    events: dict[str, Recent] = field(default_factory=dict)
    actor_names: Recent = field(default_factory=Recent)
    keys: dict[str, Recent] = field(default_factory=dict)
    current_actor: str = ""

    def for_actor(self, table: dict[str, Recent], name: str | None = None) -> Recent:
        return table.setdefault(name or self.current_actor, Recent())

    def candidates(self, slot: Slot) -> list[str]:
        if slot.kind is Kind.COMMAND:
            return [*self.for_actor(self.actions).items, *COMMANDS.names()]
        if slot.kind is Kind.ACTION:
            return list(self.for_actor(self.actions).items)
        if slot.kind is Kind.EVENT:  # each event once per line
            return [e for e in self.for_actor(self.events).items if e not in slot.context]
        if slot.kind is Kind.ACTOR_NAME:
            return list(self.actor_names.items)
        if slot.kind is Kind.ACTOR_KEY:  # the keys used with the name just before
            return list(self.for_actor(self.keys, slot.context[-1] if slot.context else None).items)
        if slot.kind is Kind.CHOICE:
            return list(slot.choices)
        return []


def rank(candidates: Iterable[str], prefix: str) -> list[str]:
    """Prefix matches first (in recency order), then case-insensitive fuzzy subsequence matches."""
    seen: set[str] = set()
    prefixed: list[str] = []
    fuzzy: list[str] = []
    low = prefix.lower()
    for cand in candidates:
        if cand in seen:
            continue
        seen.add(cand)
        if cand.startswith(prefix):
            prefixed.append(cand)
        elif cand.lower().startswith(low) or _subsequence(low, cand.lower()):
            fuzzy.append(cand)
    return prefixed + fuzzy


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(ch in it for ch in needle)


def make_completer(sources: Sources) -> Completer:
    """A prompt_toolkit ``Completer`` over ``sources`` (imported lazily); a dot-command shows its help."""
    from prompt_toolkit.completion import Completer, Completion

    class ReplCompleter(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
            slot = what_goes_here(document.text_before_cursor)
            for cand in rank(sources.candidates(slot), slot.prefix):
                command = COMMANDS.get(cand) if slot.kind is Kind.COMMAND else None
                meta = " — ".join(filter(None, (command.args, command.help))) if command is not None else None
                yield Completion(cand, start_position=-len(slot.prefix), display_meta=meta)

    return ReplCompleter()
