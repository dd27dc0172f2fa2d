"""The generated files: committed completions and man page match the command tree (else: run
scripts/generate), the man page is complete and renders without warnings, every help shows an example, and
the completion cache the scripts read is written safely."""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer

from rivetctl import docgen as gen
from rivetctl.cli.app import app, main
from rivetctl.docgen.man import roff
from rivetctl.docgen.tree import SHELLS, Cmd, command_tree, split_doc
from rivetctl.frontend import store
from rivetctl.frontend.exits import Exit
from rivetctl.frontend.store import ACTIONS_DIR, NAMES_FILE

ROOT = Path(__file__).resolve().parents[2]
CLI = typer.main.get_command(app)
SECTIONS = (
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "COMMANDS",
    "OPTIONS",
    "ENVIRONMENT",
    "FILES",
    "SERVERS",
    "EXIT STATUS",
    "EXAMPLES",
)


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return gen.generated_files(CLI)


@pytest.fixture(scope="module")
def tree() -> Cmd:
    return command_tree(CLI)


@pytest.fixture(scope="module")
def man() -> str:
    return gen.man_page(CLI)


def _section(page: str, name: str) -> str:
    match = re.search(rf"^\.SH {name}\n(.*?)(?=^\.SH |\Z)", page, re.M | re.S)
    assert match, f"no {name} section"
    return match.group(1)


def _need(tool: str) -> str:
    """The tool's path; a missing tool fails under CI (which installs it) and skips elsewhere."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not installed (.ci/run installs it from Debian packages)")
        pytest.skip(f"{tool} is not installed")
    return path


# --- freshness -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", [*gen.SCRIPT_FILES.values(), gen.MAN_FILE])
def test_committed_file_is_fresh(generated: dict[str, str], rel: str) -> None:
    path = ROOT / rel
    assert path.exists(), f"{rel} is missing: run scripts/generate"
    committed = path.read_text(encoding="utf-8")
    if committed != generated[rel]:
        diff = difflib.unified_diff(
            committed.splitlines(),
            generated[rel].splitlines(),
            f"{rel} (committed)",
            f"{rel} (generated)",
            lineterm="",
        )
        pytest.fail(f"{rel} is stale: run scripts/generate\n" + "\n".join(list(diff)[:60]), pytrace=False)


def test_generation_is_deterministic(generated: dict[str, str]) -> None:
    assert gen.generated_files(CLI) == generated
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", "".join(generated.values())), "no dates in generated files"


def test_generate_script_check_mode() -> None:
    proc = subprocess.run([str(ROOT / "scripts" / "generate"), "--check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_completions_command_prints_the_committed_script(shell: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["completions", shell], stdout=out, stderr=err, env={}) == 0, err.getvalue()
    assert out.getvalue() == (ROOT / gen.SCRIPT_FILES[shell]).read_text(encoding="utf-8")


def test_completions_unknown_shell_is_a_usage_error() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["completions", "tcsh"], stdout=out, stderr=err, env={}) == Exit.USAGE
    assert "tcsh" in err.getvalue() and all(f"'{shell}'" in err.getvalue() for shell in SHELLS)
    assert out.getvalue() == ""


def test_man_command_prints_the_committed_page() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["man"], stdout=out, stderr=err, env={}) == 0, err.getvalue()
    assert out.getvalue() == (ROOT / gen.MAN_FILE).read_text(encoding="utf-8")


# --- what the tree and the man page hold ---------------------------------------------------------


def test_tree_knows_value_choices(tree: Cmd) -> None:
    by_path = {c.key: c for c in tree.walk()}
    options = {n: o for o in by_path[""].options for n in o.names}
    assert options["--encoding"].values.choices == ("json", "cbor", "bare")
    assert options["-o"].values.choices == ("auto", "table", "json", "jsonl", "yaml", "raw", "csv")
    assert options["--profile"].values.kind == "profile"
    assert not options["--insecure"].metavar and options["--verbose"].repeatable
    watch = {n: o for o in by_path["watch"].options for n in o.names}
    assert watch["--timestamps"].values.choices == ("absolute", "relative")
    assert watch["--no-state"] is watch["--state"]
    assert [a.values.kind for a in by_path["call"].args] == ["actor", "", "action", ""]
    assert by_path["call"].args[-1].variadic
    assert by_path["completions"].args[0].values.choices == SHELLS
    assert by_path["config use"].args[0].values.kind == "profile"
    assert set(by_path["config"].commands) == {
        by_path[f"config {s}"] for s in ("set", "use", "list", "show", "delete", "path")
    }


def test_man_page_has_every_section_in_order(man: str) -> None:
    headings = re.findall(r"^\.SH (.+)$", man, re.M)
    assert headings == list(SECTIONS)
    assert man.startswith('.\\" Generated')
    assert re.search(r'^\.TH RIVETCTL 1 "" "rivetctl \S+"', man, re.M)


def test_man_page_documents_every_command_option_and_example(man: str, tree: Cmd) -> None:
    commands = _section(man, "COMMANDS")
    examples = _section(man, "EXAMPLES")
    for cmd in tree.walk():
        if cmd.path:
            assert f".TP\n\\fB{roff(cmd.key)}\\fR" in commands, cmd.key
        for opt in cmd.options:
            for name in opt.names:
                assert f"\\fB{roff(name)}\\fR" in man, f"{cmd.key or 'rivetctl'} {name}"
        for example in split_doc(cmd.epilog)[1] + split_doc(cmd.help)[1]:
            assert roff(example) in examples
    assert examples.count("\n.nf\n") >= len([c for c in tree.walk() if c.epilog])


def test_man_page_environment_names_every_variable_the_code_reads(man: str) -> None:
    env = _section(man, "ENVIRONMENT")
    read = set()
    for path in (ROOT / "rivetctl").rglob("*.py"):
        read |= set(re.findall(r"\"((?:RIVET_|RIVETCTL_|XDG_)[A-Z_]+|NO_COLOR)\"", path.read_text(encoding="utf-8")))
    internal = {"RIVET_RUN_ENGINE_PORT", "RIVET_RUN_ENGINE_HOST", "RIVET_RUN_SERVICES", "RIVET_TOKEN_LOCAL"}
    missing = sorted(v for v in read - internal if f"\\fB{roff(v)}\\fR" not in env)
    assert not missing, f"ENVIRONMENT does not describe {missing}"


def test_man_page_exit_status_lists_every_code(man: str) -> None:
    section = _section(man, "EXIT STATUS")
    for code in Exit:
        assert f".TP\n\\fB{int(code)}\\fR\n" in section


def test_man_page_files_and_cache(man: str) -> None:
    files = _section(man, "FILES")
    for needle in ("rivetctl/config.toml", "XDG_STATE_HOME", "XDG_CACHE_HOME", "names.txt"):
        assert roff(needle) in files


def test_roff_escaping() -> None:
    assert roff(".hidden") == "\\&.hidden"
    assert roff("'[\"a\"]' --x ~/p^ \\ ×") == '\\(aq["a"]\\(aq \\-\\-x \\(ti/p\\(ha \\(rs \\[u00D7]'


def test_man_page_renders_without_warnings(tmp_path: Path) -> None:
    groff = _need("groff")
    page = ROOT / gen.MAN_FILE
    proc = subprocess.run([groff, "-ww", "-mandoc", "-Tutf8", str(page)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    man = _need("man")
    env = {
        **os.environ,
        "MANWIDTH": "80",
        "MANPAGER": "cat",
        "PAGER": "cat",
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
    }
    proc = subprocess.run([man, "--warnings", "-l", str(page)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    text = re.sub(r".\x08", "", proc.stdout)
    for heading in SECTIONS:
        assert re.search(rf"^{heading}$", text, re.M), heading
    assert "rivetctl call counter my-counter increment 5" in text  # dashes stay ASCII, copy-pasteable
    prose = text.split("\nEXAMPLES\n")[0]  # examples are literal commands, never wrapped
    assert max(len(line) for line in prose.splitlines()) <= 80


# --- every help shows an example -----------------------------------------------------------------


def _paths() -> list[tuple[str, ...]]:
    return [c.path for c in command_tree(CLI).walk()]


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p) or "rivetctl")
def test_every_help_has_an_example(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"], stdout=io.StringIO(), stderr=io.StringIO(), env={}) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s*Examples?:\s*$", out, re.M), f"`rivetctl {' '.join(path)} --help` shows no example"
    assert re.search(r"^\s+(\S+ \| )?rivetctl\b", out, re.M)


# --- the completion cache ------------------------------------------------------------------------


def test_cache_writes_json_and_plain_sidecars(tmp_path: Path) -> None:
    cache = tmp_path / "rivetctl"
    store.write_completion_cache(cache, names=["counter", "chatRoom"], actions={"counter": ["increment", "getCount"]})
    assert json.loads((cache / store.COMPLETION_FILE).read_text()) == {
        "version": 1,
        "names": ["counter", "chatRoom"],
        "actions": {"counter": ["increment", "getCount"]},
    }
    assert (cache / NAMES_FILE).read_text() == "counter\nchatRoom\n"
    assert (cache / ACTIONS_DIR / "counter.txt").read_text() == "increment\ngetCount\n"
    store.write_completion_cache(cache, actions={"chatRoom": ["sendMessage"]})
    names, actions = store.read_completion_cache(cache)
    assert names == ["counter", "chatRoom"]
    assert actions == {"chatRoom": ["sendMessage"], "counter": ["increment", "getCount"]}
    assert sorted(p.name for p in cache.rglob("*")) == [
        ".completion.json.lock", "actions", "chatRoom.txt", "completion.json", "counter.txt", "names.txt"
    ]  # fmt: skip


def test_cache_drops_unsafe_values_and_bounds_lists(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    many = [f"a{i}" for i in range(store.COMPLETION_LIMIT + 50)]
    store.write_completion_cache(
        cache,
        names=["ok", "two words", "new\nline", "", "ok", *many],
        actions={"../evil": ["x"], ".hidden": ["y"], "ok": ["tab\tbed", "fine"]},
    )
    names, actions = store.read_completion_cache(cache)
    assert names[:2] == ["ok", "a0"] and len(names) == store.COMPLETION_LIMIT
    assert actions["ok"] == ["fine"]
    files = sorted(p.name for p in (cache / ACTIONS_DIR).iterdir())
    assert files == ["ok.txt"]
    assert not (tmp_path / "evil.txt").exists()


def test_remember_puts_recent_first(tmp_path: Path) -> None:
    store.write_completion_cache(tmp_path, names=["a", "b"], actions={"b": ["x", "y"]})
    store.remember_completion(tmp_path, "b", "y")
    assert store.read_completion_cache(tmp_path) == (["b", "a"], {"b": ["y", "x"]})
    assert (tmp_path / ACTIONS_DIR / "b.txt").read_text() == "y\nx\n"
    store.remember_completion(tmp_path, "c")
    assert store.read_completion_cache(tmp_path)[0] == ["c", "b", "a"]


def test_cache_failures_are_silent(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store.write_completion_cache(blocker / "rivetctl", names=["a"])  # must not raise
    assert store.read_completion_cache(blocker / "rivetctl") == ([], {})
    (tmp_path / store.COMPLETION_FILE).write_text("{not json")
    assert store.read_completion_cache(tmp_path) == ([], {})
    store.write_completion_cache(tmp_path, names=["a"])
    assert store.read_completion_cache(tmp_path) == (["a"], {})
    assert not list(tmp_path.glob(".*.tmp"))
