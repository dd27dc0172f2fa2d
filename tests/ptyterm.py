"""A rivetctl child process on a real pseudo-terminal (pexpect) that answers prompt_toolkit's cursor-position
requests as a terminal does, so prompts and toolbars are drawn as they are for a person."""

from __future__ import annotations

import re
import time

import pexpect

TIMEOUT = 20
CPR = "\x1b[6n"  # prompt_toolkit asks the terminal where the cursor is
CPR_ANSWER = "\x1b[20;1R"


def plain(text: str) -> str:
    """Text as a person reads it: escape sequences and carriage returns removed."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")


class Term:
    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.seen = ""
        """What came before (and with) the last match, as plain text."""

    @property
    def before(self) -> str:
        return str(self.child.before)

    def expect(self, pattern: str, timeout: float = TIMEOUT, exact: bool = False) -> str:
        """Wait for ``pattern`` (a regex, or literal text with ``exact``); the plain text up to and with it."""
        deadline = time.monotonic() + timeout
        raw = ""
        while True:
            remaining = max(0.1, deadline - time.monotonic())
            if exact:
                index = self.child.expect_exact([pattern, CPR], timeout=remaining)
            else:
                index = self.child.expect([pattern, re.escape(CPR)], timeout=remaining)
            raw += str(self.child.before)
            if index == 1:
                self.child.send(CPR_ANSWER)
                continue
            self.child.before = raw
            self.seen = plain(raw + str(self.child.after))
            return self.seen

    def expect_exact(self, text: str, timeout: float = TIMEOUT) -> str:
        return self.expect(text, timeout=timeout, exact=True)

    def expect_eof(self, timeout: float = TIMEOUT) -> None:
        while self.child.expect([pexpect.EOF, re.escape(CPR)], timeout=timeout) == 1:
            self.child.send(CPR_ANSWER)

    def send(self, text: str) -> None:
        self.child.send(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self.child, name)
