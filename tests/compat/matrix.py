"""The compatibility matrix's bookkeeping for ``scripts/test-compat``: the targets to run, one result row per
target read from pytest's JUnit XML report, and the markdown table of them all.

    python -m tests.compat.matrix targets [TARGET...]            # checked targets, one a line (default: all)
    python -m tests.compat.matrix row ROWS TARGET JUNIT STATUS   # append TARGET's result to ROWS (JSON lines)
    python -m tests.compat.matrix table ROWS [--write FILE]      # print the table (and write it to FILE)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.compat.rig import MATRIX, SpecError, parse_spec


@dataclass
class Row:
    server: str
    shape: str
    passed: int
    failed: int
    skipped: int
    date: str
    note: str = ""


def counts(junit: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from a pytest JUnit XML report; errors (a fixture that failed, e.g. a server
    that did not start) count as failures."""
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = failed = skipped = 0
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return max(tests - failed - skipped, 0), failed, skipped


def failed_tests(junit: Path) -> list[str]:
    """The tests that failed or errored, as ``module::name``, in report order."""
    found: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").rsplit(".", 1)[-1]
            found.append(f"{module}::{case.get('name', '?')}" if module else case.get("name", "?"))
    return list(dict.fromkeys(found))


def row_for(target: str, junit: Path, status: int, date: str | None = None) -> Row:
    """The result row of one target: its counts and the tests that failed (the first three), or a note when
    pytest left no report or collected nothing."""
    spec = parse_spec(target)
    when = date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    try:
        passed, failed, skipped = counts(junit)
        names = failed_tests(junit)
    except (OSError, ET.ParseError):
        return Row(spec.version, spec.shape, 0, 0, 0, when, f"no test report (pytest exit {status})")
    notes = []
    if passed + failed + skipped == 0:
        notes.append(f"no tests ran (pytest exit {status})")
    elif status not in (0, 1):
        notes.append(f"pytest exit {status}")
    if names:
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        notes.append("failed: " + ", ".join(f"`{name}`" for name in names[:3]) + more)
    return Row(spec.version, spec.shape, passed, failed, skipped, when, "; ".join(notes))


def ok(row: Row) -> bool:
    return row.failed == 0 and row.passed > 0 and not any(m in row.note for m in ("pytest exit", "no test"))


def table(rows: list[Row]) -> str:
    lines = [
        "| Server | Shape | Passed | Failed | Skipped | Date | Note |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| rivetkit {row.server} | {row.shape} | {row.passed} | {row.failed} | {row.skipped} | {row.date} "
            f"| {row.note} |"
        )
    return "\n".join(lines) + "\n"


def document(rows: list[Row], header: str = "") -> str:
    intro = (
        "# Compatibility matrix\n\n"
        "The end-to-end tests marked `compat` (in `tests/e2e`) against each RivetKit server of the compatibility\n"
        "matrix, as `scripts/test-compat` last ran them all (it rewrites this file). Shapes:\n"
        "*file-system* is RivetKit's own HTTP API with its file-system driver (the 2.0-2.2 default), *runner* an\n"
        "old runner behind the current Rivet Engine, *engine* RivetKit 2.3's own engine (`tests/compat/rig.py`).\n"
    )
    return intro + (f"\n{header}\n" if header else "") + "\n" + table(rows)


def read_rows(path: Path) -> list[Row]:
    if not path.exists():
        return []
    return [Row(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.compat.matrix")
    sub = parser.add_subparsers(dest="command", required=True)
    targets = sub.add_parser("targets", help="check targets and print them one a line (none given: the matrix)")
    targets.add_argument("target", nargs="*")
    row = sub.add_parser("row", help="append one target's result row")
    row.add_argument("rows", type=Path)
    row.add_argument("target")
    row.add_argument("junit", type=Path)
    row.add_argument("status", type=int)
    tab = sub.add_parser("table", help="print the table of the rows; exit 1 when a target failed")
    tab.add_argument("rows", type=Path)
    tab.add_argument("--write", type=Path, help="also write the matrix document to this file")
    tab.add_argument("--header", default="", help="a line written above the table (with --write)")
    args = parser.parse_args(argv)

    if args.command == "targets":
        try:
            names = [parse_spec(t).name for t in (args.target or MATRIX)]
        except SpecError as exc:
            print(f"test-compat: {exc}", file=sys.stderr)
            return 2
        print("\n".join(names))
        return 0
    if args.command == "row":
        result = row_for(args.target, args.junit, args.status)
        with args.rows.open("a") as fh:
            fh.write(json.dumps(asdict(result)) + "\n")
        return 0
    rows = read_rows(args.rows)
    print(table(rows), end="")
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(document(rows, args.header))
    return 0 if rows and all(ok(r) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
