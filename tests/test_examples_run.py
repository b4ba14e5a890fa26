"""Every example runs: each command in README.md and in every `gradcalc <command> --help`
runs from the repository root as written, exits 0 and prints something; where the README shows
what a command prints (a `$ gradcalc ...` line and the lines under it), it prints that.

The README's commands are its code-block lines that call gradcalc (`gradcalc ...`,
`$ gradcalc ...`, `python3 -m gradcalc ...`, `echo ... | gradcalc ...`, `NAME=value gradcalc
...`) and its inline examples (`` `gradcalc <command> "<expression>" ...` ``); the help's are
the lines under "Examples:". They run in a copy of the repository's examples/ and docs/, so
that the files they write land there.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pydot
import pytest
from click.testing import CliRunner
from helpers import Run

import gradcalc
from gradcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# Examples that need what a test cannot have; the README says so next to each.
NEEDS = {
    "s3://bucket/": "an S3 bucket of the user's own and a running Dask scheduler",
}
# A call of gradcalc; a usage synopsis (`gradcalc graph EXPR [--at ...]`) is not one.
CALL = re.compile(r"^(?:[A-Z_]+=\S+ )*(?:echo .*\| )?(?:python3 -m )?gradcalc (?![a-z]+ EXPR)")
INLINE = re.compile(r'`(gradcalc [a-z]+ "[^`]*)`')
# A pipe into another program: how the test checks what gradcalc hands it.
PIPED = {"dot": lambda text: pydot.graph_from_dot_data(text)}
WRITES = ("-o", "--output-file", "--plot", "--history")


@dataclass(frozen=True)
class Example:
    where: str  # "README.md:21" or "eval --help"
    line: str  # as written, without the prompt
    shown: tuple[str, ...] | None = None  # what the README shows it printing

    def __str__(self):
        return f"{self.where}: {self.line[:70]}"


def readme_blocks(lines: list[str]):
    """(line number, text) runs of indented code, outside fenced blocks."""
    block: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced and (line.startswith("    ") or (block and not line.strip())):
            block.append((number, line))
            continue
        if block:
            yield block
        block = []
    if block:
        yield block


def block_examples(block: list[tuple[int, str]]):
    """The commands of one code block, each with the output shown under a `$` line."""
    current: tuple[int, str, bool] | None = None
    shown: list[str] = []
    indent = 0

    def finish():
        if current is not None:
            number, line, prompted = current
            while shown and not shown[-1]:
                shown.pop()
            assert prompted or not shown, f"README.md:{number}: output shown under a line without '$ '"
            yield Example(f"README.md:{number}", line, tuple(shown) if prompted else None)

    for number, text in block:
        stripped = text.strip()
        command = stripped.removeprefix("$ ")
        if CALL.match(command):
            yield from finish()
            current, shown = (number, command, stripped.startswith("$ ")), []
            indent = len(text) - len(text.lstrip())
        elif current is not None:
            shown.append(text.rstrip()[indent:])
    yield from finish()


def readme_examples() -> list[Example]:
    lines = README.read_text(encoding="utf-8").splitlines()
    examples = [example for block in readme_blocks(lines) for example in block_examples(block)]
    for number, line in enumerate(lines, 1):
        examples += [Example(f"README.md:{number}", match) for match in INLINE.findall(line)]
    return examples


def help_examples() -> list[Example]:
    examples = []
    for name in sorted(main.commands):
        text = CliRunner().invoke(main, [name, "--help"]).stdout
        listed = text.split("Examples:", 1)[1] if "Examples:" in text else ""
        joined = re.sub(r"\\\n\s*", "", listed)
        examples += [Example(f"{name} --help", line.strip()) for line in joined.splitlines() if line.strip()]
    return examples


README_EXAMPLES = readme_examples()
HELP_EXAMPLES = help_examples()


def skipped_for(example: Example) -> str | None:
    return next((reason for marker, reason in NEEDS.items() if marker in example.line), None)


@dataclass
class Command:
    env: dict[str, str]
    stdin: str | None
    module: bool  # `python3 -m gradcalc`, run as a process
    args: list[str]
    piped: list[str]  # the program gradcalc's output is piped into, with its arguments
    redirect: str | None  # `> FILE`: the test reads stdout instead


def read(line: str) -> Command:
    words = shlex.split(line, comments=True)
    env = {}
    while "=" in words[0] and words[0].split("=")[0].isupper():
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    stdin = None
    if words[0] == "echo":
        bar = words.index("|")
        stdin, words = " ".join(words[1:bar]) + "\n", words[bar + 1:]
    module = words[:3] == ["python3", "-m", "gradcalc"]
    words = words[3:] if module else words[1:]
    piped: list[str] = []
    if "|" in words:
        bar = words.index("|")
        words, piped = words[:bar], words[bar + 1:]
    redirect = None
    if ">" in words:
        arrow = words.index(">")
        words, redirect = words[:arrow], words[arrow + 1]
    return Command(env, stdin, module, words, piped, redirect)


@pytest.fixture(scope="module")
def root_copy(tmp_path_factory):
    """A stand-in for the repository root: its examples/ and docs/, nothing written to the real one."""
    root = tmp_path_factory.mktemp("root")
    for folder in ("examples", "docs"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def run(command: Command, cwd: Path) -> Run:
    if command.module:
        env = {**os.environ, "PYTHONPATH": str(Path(gradcalc.__file__).parent.parent), **command.env}
        done = subprocess.run([sys.executable, "-m", "gradcalc", *command.args], cwd=cwd, env=env,
                              input=command.stdin, capture_output=True, text=True, timeout=120)
        return Run(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(main, command.args, input=command.stdin, env=command.env,
                                prog_name="gradcalc", catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def appears_in_order(chunks: list[list[str]], lines: list[str]) -> bool:
    """Each chunk of shown lines occurs in `lines`, contiguous, after the one before it."""
    start = 0
    for chunk in chunks:
        for at in range(start, len(lines) - len(chunk) + 1):
            if lines[at:at + len(chunk)] == chunk:
                start = at + len(chunk)
                break
        else:
            return False
    return True


def shown_chunks(shown: list[str]) -> list[list[str]]:
    """The shown lines split at the `...` lines that stand for lines left out."""
    chunks: list[list[str]] = [[]]
    for line in shown:
        if line.strip() in ("...", "…"):
            chunks.append([])
        else:
            chunks[-1].append(line)
    return [chunk for chunk in chunks if chunk]


def check_example(example: Example, cwd: Path, monkeypatch) -> None:
    reason = skipped_for(example)
    if reason:
        pytest.skip(f"needs {reason}")
    monkeypatch.chdir(cwd)
    command = read(example.line)
    ran = run(command, cwd)
    shown = list(example.shown or ())
    messages = [line for line in shown if line.startswith(("error: ", "warning: "))]
    if messages and messages[0].startswith("error: "):  # the README shows a failure
        assert ran.code == 2 and ran.stdout == "", ran.stderr
        assert ran.stderr.splitlines() == messages
        return
    assert ran.code == 0, f"{example}\n{ran.stderr}"
    written = [cwd / command.args[command.args.index(option) + 1] for option in WRITES if option in command.args]
    for path in written:
        assert path.stat().st_size > 0, f"{example}: {path.name} is empty"
    if not ("-o" in command.args or "--output-file" in command.args):  # else the file is the output
        assert ran.stdout.strip(), f"{example}: nothing on stdout"
    if command.piped:
        assert PIPED[command.piped[0]](ran.stdout), f"{example}: {command.piped[0]} cannot read it"
    if shown:
        out = [line.rstrip() for line in ran.stdout.splitlines()]
        printed = [line for line in shown if line not in messages]
        assert appears_in_order(shown_chunks(printed), out), f"{example}: prints\n{ran.stdout}"
        assert set(messages) <= set(ran.stderr.splitlines()), f"{example}: warns\n{ran.stderr}"


@pytest.mark.parametrize("example", README_EXAMPLES, ids=str)
def test_the_readme_example_runs_and_prints_what_it_shows(example, root_copy, monkeypatch):
    check_example(example, root_copy, monkeypatch)


@pytest.mark.parametrize("example", HELP_EXAMPLES, ids=str)
def test_the_help_example_runs(example, root_copy, monkeypatch):
    check_example(example, root_copy, monkeypatch)


def test_the_examples_are_found():
    """The extraction reads what it should: every command of the help, and the README's
    prompted examples with their output."""
    assert len(HELP_EXAMPLES) >= 7 * 2
    assert {e.where.split()[0] for e in HELP_EXAMPLES} == set(main.commands)
    quick_start = next(e for e in README_EXAMPLES if e.line == 'gradcalc eval "3*(a+b*c)" --at a=5,b=3,c=2'
                       and e.shown)
    assert quick_start.shown[0] == "f = 33" and quick_start.shown[-1].startswith("└")
    assert any(e.line.startswith("echo ") for e in README_EXAMPLES)
    assert any(e.line.startswith("python3 -m gradcalc ") for e in README_EXAMPLES)
    assert any(e.line.startswith("GRADCALC_MAX_NODES=") for e in README_EXAMPLES)
    assert any("-o docs/neuron.svg" in e.line for e in README_EXAMPLES)  # an inline one


def test_every_skip_names_an_example_and_the_readme_gives_its_reason():
    readme = README.read_text(encoding="utf-8")
    for marker in NEEDS:
        assert any(marker in e.line for e in README_EXAMPLES + HELP_EXAMPLES), marker
    assert "needs what it names: an S3 bucket of your\nown (with s3fs installed) and a running scheduler" in readme


def test_the_readme_shows_exactly_two_set_up_commands_and_says_which_extra_gives_data_mode():
    section = README.read_text(encoding="utf-8").split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv && . .venv/bin/activate && ") for c in commands)
    assert commands[0].endswith('&& gradcalc eval "3*(a+b*c)" --at a=5,b=3,c=2')
    assert commands[1].endswith('python3 -m pip install ".[test]" && python3 -m pytest -q')
    assert '`".[data]"`' in section
    assert 'pipx install ".[data]"' in section and 'uv tool install ".[data]"' in section


def test_the_readme_json_contract_is_what_eval_and_trace_print(cli):
    readme = README.read_text(encoding="utf-8")
    snippets = re.findall(r"```json\n(.*?)```", readme, re.S)
    eval_json = cli("eval", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "json").stdout
    assert snippets[0] == eval_json
    trace_json = cli("trace", "3*(a+b*c)", "--at", "a=5,b=3,c=2", "--format", "json").stdout
    node = "".join("    " + line if line.strip() else line for line in snippets[1].splitlines(keepends=True))
    assert node.rstrip() in trace_json


def test_the_readme_completion_line_prints_a_bash_script():
    assert 'eval "$(_GRADCALC_COMPLETE=bash_source gradcalc)"' in README.read_text(encoding="utf-8")
    result = CliRunner().invoke(main, [], env={"_GRADCALC_COMPLETE": "bash_source"}, prog_name="gradcalc")
    assert result.exit_code == 0 and "complete -o nosort -F" in result.stdout
