"""Where a command's document goes: standard output, or a file that is replaced whole.

`-o FILE` (and descend's `--history` and `--plot`) take their format from FILE's suffix
unless `--format` says it; `-` is standard output. A file is written beside its target under
a temporary name and renamed over it at the end (os.replace), so a failed run leaves an
existing file as it was; a path that is also an input is refused before any work is done.
Tables are drawn here, in the colours `--color` and NO_COLOR allow.
"""
from __future__ import annotations

import os
import stat
import sys
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO, Any, Iterator, Mapping, Sequence

import click
from click.core import ParameterSource

from gradcalc.errors import UsageError
from gradcalc.render import SUFFIX_FORMATS

STDOUT = "-"


def format_for(option: str, path: str, known: Sequence[str], writer: str, escape: str = "") -> str:
    """The format that FILE's suffix names among the `known` ones; any other suffix is refused,
    since writing one format under another's name (DOT text in a .png) helps nobody."""
    suffix = PurePath(path).suffix.lower()
    fmt = SUFFIX_FORMATS.get(suffix)
    if fmt is not None and fmt in known:
        return fmt
    files = f"{suffix} files" if suffix else "files without a suffix"
    suffixes = [s for s, f in SUFFIX_FORMATS.items() if f in known]
    raise click.UsageError(f"{option} {path}: {writer} does not write {files}; it writes "
                           f"{_either(suffixes)} ('-': standard output){escape}")


def _either(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def refuse_overwriting_inputs(inputs: Mapping[str, str | None], outputs: Mapping[str, str | None]) -> None:
    """An output that is also an input (or another output) would destroy what the run reads."""
    files = [(option, path) for option, path in outputs.items() if path not in (None, STDOUT)]
    sources = [(option, path) for option, path in inputs.items() if path not in (None, STDOUT)]
    for k, (option, path) in enumerate(files):
        for other, source in sources + files[:k]:
            if _same_file(path, source):
                raise click.UsageError(f"{option} {path} is also {other}: writing it would destroy "
                                       "what this run reads or writes; choose another file")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet), or is a URL
        return os.path.realpath(a) == os.path.realpath(b)


@contextmanager
def written(path: str, binary: bool = False) -> Iterator[IO[Any]]:
    """A text (or binary) stream for `path`: standard output for '-'; otherwise a temporary
    file beside it that replaces it when the block ends without an error, and is removed when
    it does not."""
    if path == STDOUT:
        stream = sys.stdout.buffer if binary else sys.stdout
        try:
            yield stream
            stream.flush()  # a closed pipe shows up here, where the group ends the run normally
        except BrokenPipeError:
            raise
        except OSError as exc:  # `> /dev/full`: the disk, not gradcalc
            raise stdout_failed(exc) from None
        return
    target = os.path.abspath(path)
    try:
        import tempfile  # only when a file is written: it costs start-up time otherwise

        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target),
                                             prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with (os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8")) as stream:
            yield stream
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except OSError as exc:
        _remove(temporary)
        raise _cannot_write(path, exc) from None
    except BaseException:
        _remove(temporary)
        raise


def _mode_for(target: str) -> int:
    """The permissions of the file replaced, or of a new file under the umask (mkstemp's are 0600)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def cannot_write_stdout(exc: Exception) -> str:
    """The one line for a standard output that refuses what is written (a full disk)."""
    reason = getattr(exc, "strerror", None) or exc
    return f"cannot write standard output: {reason}; send the output elsewhere (-o FILE)"


def stdout_failed(exc: Exception) -> UsageError:
    """Standard output refused a write (`> /dev/full`): what is still buffered goes nowhere, so
    Python's own exit stays quiet, and the run ends with one line and exit 2."""
    reader_gone()
    return UsageError(cannot_write_stdout(exc))


def _cannot_write(path: str, exc: OSError) -> click.UsageError:
    return click.UsageError(f"cannot write {path}: {exc.strerror or exc}")


def show(rendered: Any, to: str = STDOUT) -> None:
    """Text, bytes (a PNG or PDF) or a rich renderable, to standard output or into the file `to`."""
    if isinstance(rendered, bytes):
        with written(to, binary=True) as stream:
            stream.write(rendered)
        return
    with written(to) as stream:
        text = rendered if isinstance(rendered, str) else drawn(rendered, stream)
        stream.write(encodable(text if text.endswith("\n") else text + "\n", stream))


# One ASCII character for each that gradcalc writes beyond ASCII, so that a table keeps its
# columns on a standard output that takes ASCII only (PYTHONIOENCODING=ascii, LANG=C).
ASCII_STANDINS = str.maketrans("∂→—≈×²·⋮−…ε✓✗≤±┤└─▁▂▃▄▅▆▇█",
                               "d>-~x2*:-.eyn<+|`-_.-:=+*#")


def encodable(text: str, stream: IO[str]) -> str:
    """`text` as the stream's encoding can take it: unchanged when it can (files are UTF-8),
    otherwise with ASCII stand-ins, and '?' for anything else, never an error."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.translate(ASCII_STANDINS).encode(encoding, "replace").decode(encoding)
    except LookupError:  # an encoding Python does not know: it would fail on writing too
        return text


def drawn(renderable: Any, stream: IO[str]) -> str:
    """A rich renderable as the text it prints on `stream`, escape codes as `--color` allows."""
    from rich.console import Console

    # Renderers give Text for anything a user typed; with markup and emoji codes off, rich
    # neither parses the other cells nor loads its emoji table (start-up time).
    console = Console(file=stream, highlight=False, markup=False, emoji=False, **colours())
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def colours() -> dict[str, Any]:
    """rich's settings for `--color`: never, or NO_COLOR under auto, is no escape code at all
    (rich's own NO_COLOR handling keeps bold and italic); always is bold and italic even in a
    pipe or a file; auto leaves it to rich (escape codes on a terminal only)."""
    choice = setting("color", "auto")
    if choice == "never" or (choice == "auto" and os.environ.get("NO_COLOR")):
        return {"color_system": None, "no_color": True}
    if choice == "always":
        return {"force_terminal": True, "color_system": "standard", "no_color": False}
    return {}


def setting(name: str, default: Any) -> Any:
    """A setting of the running command (`--color`, `--quiet`), or `default` outside one."""
    ctx = click.get_current_context(silent=True)
    return default if ctx is None else ctx.meta.get(f"gradcalc.{name}", default)


def remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """The callback of the settings that every part of the run reads (`--color`, `--quiet`)."""
    if value is not None:
        ctx.meta[f"gradcalc.{param.name}"] = value
    return value


def stdin_is_piped() -> bool:
    """Standard input is a pipe or a file (`echo x | gradcalc ...`, `< expr.txt`), not a terminal,
    /dev/null or nothing at all: only then is an absent expression read from it."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def reader_gone() -> None:
    """Standard output's reader has gone (`| head -2`): what is still buffered goes nowhere, so
    that the run can end as if all of it had been read (exit 0, README: exit codes)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (in-process runs): nothing is buffered there
        pass


# The options that write a document of their own (descend's), and the one format each writes.
DOCUMENTS = {"history": ("--history", "csv"), "plot": ("--plot", "svg")}


def settle(ctx: click.Context) -> None:
    """Before any work: -o FILE's suffix sets the format unless --format does; --history and
    --plot must name their formats; an output that is an input, or that shares standard output
    with another one, is refused."""
    params = ctx.params
    output = params.get("output")
    choices = _format_param(ctx).type.choices
    if output not in (None, STDOUT) and ctx.get_parameter_source("fmt") == ParameterSource.DEFAULT:
        params["fmt"] = format_for("-o", output, choices, ctx.info_name or "gradcalc",
                                   f", or any file with --format {_either(choices)}")
    if params["fmt"] == "table" and "text" in choices:  # grad's renderer calls its table text
        params["fmt"] = "text"
    for name, (option, fmt) in DOCUMENTS.items():
        if params.get(name) not in (None, STDOUT):
            format_for(option, params[name], [fmt], option)
    outputs = {"-o": output, **{option: params.get(name) for name, (option, _) in DOCUMENTS.items()}}
    to_stdout = [option for option, path in outputs.items() if path == STDOUT]
    if len(to_stdout) > 1:
        raise click.UsageError(f"{' and '.join(to_stdout)} both ask for standard output ('-'); "
                               "send one of them to a file", ctx)
    source = params.get("file")
    inputs = {"-f": getattr(source, "name", None), "--data": params.get("data")}
    refuse_overwriting_inputs({k: v for k, v in inputs.items() if isinstance(v, str)}, outputs)


def format_chosen(ctx: click.Context) -> bool:
    """Whether the user said the format: with --format, or with the suffix of -o FILE."""
    return (ctx.get_parameter_source("fmt") != ParameterSource.DEFAULT
            or ctx.params.get("output") not in (None, STDOUT))


def _format_param(ctx: click.Context) -> Any:
    return next(param for param in ctx.command.params if param.name == "fmt")
