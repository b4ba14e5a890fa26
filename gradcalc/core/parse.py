"""Text → syntax, under a whitelist, without eval and without recursion.

The grammar: numbers, ASCII names, `+ - * / ** ^ @` (`^` is power, right-associative; `@`
the matrix product), unary minus, parentheses, calls of registry functions, vector and matrix
literals (`[1, x]`, `[[1, 2], [3, 4]]`), indexing by integer literals (`z[0]`, `W[1, 2]`),
implicit multiplication after a number (`3(a+b)`, `2x`), and programs of statements
`name = expr` separated by `;` or newlines.
Anything else is a ParseError with the column.

Expressions come out in postfix (RPN) order, which is the order lowering builds nodes in:
a shunting-yard loop with explicit stacks, so a 50,000-term sum or 10,000 nested parentheses
cost time linear in the length and no Python stack. A long program is read by the shapes of
its statements: the parser reads one statement of each (see `parse_by_shapes`).
"""
from __future__ import annotations

import gc
import math
import re
from functools import wraps
from itertools import accumulate, compress
from operator import itemgetter
from typing import NamedTuple

from gradcalc import limits
from gradcalc.core.ops import BINARY, FUNCTIONS
from gradcalc.errors import ParseError, printable, short

_NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII only: \d takes other scripts
# One token per match: a number, a name, a two-character operator, or any other single
# character but blanks (operators, and characters to refuse). `split` keeps the blanks
# between tokens, so the offsets of all tokens come from adding up lengths, in C.
_TOKEN = re.compile(rf"({_NUMBER}|[A-Za-z_][A-Za-z0-9_]*|\*\*|==|//|[^ \t\r\f\v])")
# A character that is in no token of the grammar; '.' outside a number is found separately.
_FOREIGN = re.compile(r"[^0-9A-Za-z_ \t\r\f\v*=/+\-^(),;\n.@\[\]]")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS = frozenset("0123456789")
_STRUCTURE = frozenset("();\n")  # the tokens that decide where statements end

# Python keywords make no sense as variables and signal code; `lambda` stays a valid name
# (a common Greek-letter parameter) because `lambda: ...` fails on the `:` anyway.
_KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is nonlocal not or pass raise return try while with "
    "yield".split()
)

_REFUSED = {
    "#": "comments ('#') are not supported: remove the comment",
    "%": "'%' is not an operator here",
    "!": "'!' is not an operator here (factorial is not supported)",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ".": "'.' outside a number (attribute access) is not allowed",
    ":": "':' is not allowed (no lambdas, slices or annotations)",
    "{": "braces are not allowed",
    "}": "braces are not allowed",
    "<": "comparisons are not supported",
    ">": "comparisons are not supported",
    "&": "bitwise operators are not supported",
    "|": "bitwise operators are not supported",
    "~": "bitwise operators are not supported",
    "`": "backquotes are not allowed",
    "\\": "backslashes are not allowed",
    "$": "'$' is not allowed",
    "?": "'?' is not allowed",
}

# Binding power of infix operators; `neg` binds tighter than * and / but looser than power,
# so -a^2 is -(a^2) and 2^-3 is 2^(-3).
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "neg": 3, "^": 4, "**": 4}
_RIGHT_ASSOCIATIVE = frozenset(("^", "**"))


class Token(NamedTuple):  # built only where a message or a rare rule needs one
    kind: str  # num, name, op, end
    text: str
    pos: int  # 0-based offset into the whole source


class Statement(NamedTuple):  # tuples, not dataclasses: a class statement is cheap at start-up
    target: str | None  # the assigned name, or None for a bare expression
    target_pos: int  # where the statement starts: its first token
    # The postfix items, in columns (statements of one shape share all but the texts): kind in
    # num, name, call, bin, neg, vector (`[a, b]`: argc elements), index (`z[0]`: the operand,
    # then argc - 1 indices); the text; the place, counted from target_pos; argc.
    kinds: tuple[str, ...]
    texts: tuple[str, ...]
    offsets: tuple[int, ...]
    counts: tuple[int, ...]

    @property
    def rpn(self) -> tuple:
        """The postfix items as (kind, text, pos, argc) tuples, pos in the whole text."""
        return tuple(zip(self.kinds, self.texts, map(self.target_pos.__add__, self.offsets), self.counts))


class Program(NamedTuple):
    text: str
    statements: tuple[Statement, ...]


class collector_paused:
    """Parsing and lowering make millions of objects and no cycles; CPython's cycle collector
    would scan them again and again, for half the time of a 1 MB input.

    Paused, it would still scan them all once, at the first allocation after it resumes (they
    are all in its youngest generation). So after big work they go straight to the oldest
    one instead, as if they had survived: freeze() then unfreeze() moves every tracked object
    there at once; the next full collection, which the program's own objects bring about as
    usual, looks at them. (A class, not a generator: it is entered for every expression.)
    """

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *_exception) -> None:
        if gc.get_count()[0] > _MANY_OBJECTS:
            gc.freeze()
            gc.unfreeze()
        if self.enabled:
            gc.enable()

    def __call__(self, function):
        """`function` with the collector paused while it runs (each call pauses anew)."""
        @wraps(function)
        def paused(*args, **kwargs):
            with collector_paused():
                return function(*args, **kwargs)
        return paused


_MANY_OBJECTS = 100_000  # below this, the young generation is scanned as it always is


@collector_paused()  # its tuples are many and never cyclic, also when called without lower
def parse(text: str) -> Program:
    """Parse an expression or a program of `name = expr` statements."""
    limits.check("GRADCALC_MAX_INPUT", len(text), "the text is too long")
    if text.count("\n") + text.count(";") >= _MANY_STATEMENTS:
        program = parse_by_shapes(text)
        if program is not None:
            return program
    return parse_by_tokens(text)


def parse_by_tokens(text: str) -> Program:
    """The whole parser, token by token: every error, with its place, comes from here."""
    statements = []
    tokens, positions = tokenize(text)
    start = 0
    for end in _statement_ends(tokens, positions, text):
        if end > start:
            statements.append(_statement(tokens, positions, start, end, text))
        start = end + 1
    if not statements:
        raise ParseError("empty expression: nothing to evaluate")
    for statement in statements[:-1]:
        if statement.target is None:
            raise error_at("only the last statement may be a bare expression; name this one "
                         "(`u = ...`)", text, statement.target_pos + statement.offsets[-1])
    return Program(text, tuple(statements))


# Reading by shapes. A long program repeats a few shapes of statement (`t17 = t7 / (1 + t11)`
# and `t9 = t4 / (1 + t2)`): the parser reads one statement of each shape, and its postfix
# items serve the others, with their own names, numbers and places.
#
# A shape is the statement with every letter but e and E made `a` and every digit `0`: the
# tokenizer tells tokens apart by these classes alone, so statements of one shape have tokens
# of the same kinds at the same offsets, and the parser decides the same for them but where
# it reads a token's spelling. Those decisions are made again for each statement: no name may
# be a keyword, a called name must be a function, a number with an exponent or of more than
# 300 characters must be in range. A shape whose items are not all spelled out in it (the
# `*` of `2x` is not) is read anew each time. A character outside the grammar, a statement
# that fails read alone, a bare expression before the last: the full parser reads the whole
# text again, so every error and its place are its own.
_MANY_STATEMENTS = 16  # fewer statements seldom repeat a shape: the full parser is as quick
_SHAPE = str.maketrans({**dict.fromkeys("ABCDFGHIJKLMNOPQRSTUVWXYZabcdfghijklmnopqrstuvwxyz", "a"),
                        "E": "e", **dict.fromkeys("0123456789", "0"), ";": "\n"})
_BLANK, _FAILS, _ALONE = "blank", "fails", "alone"  # what a shape is when it is no template
_new = tuple.__new__


def parse_by_shapes(text: str) -> Program | None:
    """The program read shape by shape, or None where the full parser has to read it."""
    if _FOREIGN.search(text):
        return None
    templates: dict[str, tuple | str] = {}
    variants: dict[str, tuple] = {}  # templates by their tokens, names of any length
    statements = []
    bare_before = False
    base = 0
    for line, shape in zip(text.replace(";", "\n").split("\n"), text.translate(_SHAPE).split("\n")):
        template = templates.get(shape)
        if template is None:
            template = templates[shape] = _template(line, variants)
        if template.__class__ is tuple:
            statement = _instance(template, line, base)
        elif template is _BLANK:
            base += len(line) + 1
            continue
        else:
            statement = _alone(line, base) if template is _ALONE else None
        if statement is None or bare_before:
            return None
        statements.append(statement)
        bare_before = statement.target is None
        base += len(line) + 1
    return Program(text, tuple(statements)) if statements else None


def _template(line: str, variants: dict[str, tuple]) -> tuple | str:
    """What the statement in `line` says of every statement of its shape (the postfix items'
    kinds, places and counts, where their texts are), or why it is no template.

    A statement of the same tokens but for the lengths of its names (`t12 = x3 / t7` after
    `t9 = x3 / t7`) is not parsed again: the items of the first one are placed on its tokens.
    """
    try:
        tokens, positions = tokenize(line)
        if len(tokens) == 1:
            return _BLANK
        variant = _NAME_TOKEN.sub(" a", " ".join(tokens).translate(_SHAPE))
        known = variants.get(variant)
        if known is not None:
            return _placed(known, tokens, positions)
        statement = _statement(tokens, positions, 0, len(tokens) - 1, line)
    except ParseError:
        return _FAILS
    kinds, texts, offsets, counts = statement[2:]
    first = statement.target_pos
    places = [first + offset for offset in offsets]
    if not all(map(line.startswith, texts, places)):
        return _ALONE
    target = statement.target or ""
    spelled = [slice(pos, pos + len(text)) for text, pos in zip(texts, places)]
    calls = tuple(i for i, kind in enumerate(kinds) if kind == "call")
    checked = tuple(i for i, (kind, text) in enumerate(zip(kinds, texts))
                    if kind == "num" and (len(text) > 300 or "e" in text or "E" in text))
    token_at = dict(zip(positions[:-1], range(len(tokens) - 1)))
    where = tuple(token_at.get(place, -1) for place in places)
    if all(j >= 0 and tokens[j] == text for j, text in zip(where, texts)):
        variants[variant] = kinds, where, counts, calls, checked, statement.target is not None
    return kinds, _cutter(spelled), offsets, counts, calls, checked, first, slice(first, first + len(target))


# A name's token among the shapes of a statement's tokens, joined by blanks: only names begin
# with a letter (one that begins with '_' keeps its shape, so `__x` stays apart).
_NAME_TOKEN = re.compile(r"(?:^|(?<= ))[ae][0ae_]*")


def _placed(known: tuple, tokens: list[str], positions: list[int]) -> tuple:
    """The template of a statement whose tokens are those of a known statement's but for the
    lengths of its names: the known items, at the places of this statement's tokens."""
    kinds, where, counts, calls, checked, assigns = known
    first = positions[0]
    places = [positions[j] for j in where]
    spelled = [slice(pos, pos + len(tokens[j])) for pos, j in zip(places, where)]
    assigned = slice(first, first + len(tokens[0]) if assigns else first)
    return kinds, _cutter(spelled), tuple([pos - first for pos in places]), counts, calls, checked, first, assigned


def _cutter(spelled: list[slice]):
    """One call that cuts the texts at these slices out of a line, as a tuple (in C)."""
    return itemgetter(*spelled) if len(spelled) > 1 else lambda line: (line[spelled[0]],)


def _instance(template: tuple, line: str, base: int) -> Statement | None:
    """The statement in `line`, at offset `base` of the text, from its shape's template; None
    if a spelling makes it differ (a keyword, a name called that is no function, a number out
    of range)."""
    kinds, spelled, offsets, counts, calls, checked, first, assigned = template
    texts = spelled(line)
    target = line[assigned] or None
    if not _KEYWORDS.isdisjoint(texts) or target in _KEYWORDS:
        return None
    for i in calls:
        if texts[i] not in FUNCTIONS:
            return None
    for i in checked:
        try:
            _number(texts[i], first + offsets[i], line)
        except ParseError:
            return None
    return _new(Statement, (target, base + first, kinds, texts, offsets, counts))  # Statement(...), in C


def _alone(line: str, base: int) -> Statement | None:
    """The statement in `line` read by the full parser, at offset `base` of the text."""
    try:
        tokens, positions = tokenize(line)
        statement = _statement(tokens, positions, 0, len(tokens) - 1, line)
    except ParseError:
        return None
    return statement._replace(target_pos=base + statement.target_pos)


def signed_number(text: str) -> str | None:
    """`text` if it is one plain literal such as `-1.5e3` (range-checked), else None.

    The fast path for values: a 100,000-element `--at` vector need not be parsed as programs.
    """
    digits = text[1:] if text.startswith("-") else text
    match = _TOKEN.match(digits)
    if match is None or match.end() != len(digits) or _kind(digits) != "num":
        return None
    _number(digits, len(text) - len(digits), text)
    return text


def tokenize(text: str) -> tuple[list[str], list[int]]:
    """The tokens of the text and their 0-based offsets, closed by "" at the end of the text.

    A character outside the grammar is refused here, the first one in the text, before any
    parsing: so `[x for x in y]` is about the subscript, not the keyword.
    """
    parts = _TOKEN.split(text)  # blanks, token, blanks, token, ..., blanks
    ends = list(accumulate(map(len, parts)))
    tokens = parts[1::2]
    positions = ends[0:-1:2]  # a token starts where the blanks before it end
    foreign = _FOREIGN.search(text)
    first = foreign.start() if foreign else len(text)
    if "." in tokens:  # a lone '.' (a number's dot is part of its token)
        first = min(first, positions[tokens.index(".")])
    if first < len(text):
        raise _bad_character(text, first)
    tokens.append("")
    positions.append(len(text))
    return tokens, positions


def _kind(token: str) -> str:
    """num, name, op, or end for the empty token that closes a list."""
    if not token:
        return "end"
    first = token[0]
    if first in _NAME_START:
        return "name"
    if first in _DIGITS or (first == "." and len(token) > 1):
        return "num"
    return "op"


def _token(tokens: list[str], positions: list[int], i: int) -> Token:
    return Token(_kind(tokens[i]), tokens[i], positions[i])


def _statement_ends(tokens: list[str], positions: list[int], text: str):
    """Indices of the `;` and newline tokens that end statements (newlines in parentheses
    don't), then of the closing "". Lazily: statements before a misplaced ';' are parsed first.

    A statement that ends inside an open parenthesis is refused here, naming the '(': else
    the next statement would be read as its continuation and blamed (`sigmoid(z` then
    `L = ...`: not a missing operator between 'z' and 'L'). It ends there at a ';', at a
    newline before `name =`, or at the end of the text after a newline.
    """
    opened: list[int] = []  # the token indices of the '(' not closed yet
    for i in list(compress(range(len(tokens)), map(_STRUCTURE.__contains__, tokens))):
        token = tokens[i]
        if token == "(":
            opened.append(i)
        elif token == ")":
            if opened:
                opened.pop()
        elif not opened:
            yield i
        elif token == ";" or _assignment_follows(tokens, i):
            raise _unclosed(tokens, positions, opened[-1], text, ending=i)
    if opened and text.find("\n", positions[opened[-1]]) >= 0:
        raise _unclosed(tokens, positions, opened[-1], text)
    yield len(tokens) - 1


def _assignment_follows(tokens: list[str], i: int) -> bool:
    """Whether the tokens after the newline at i start a statement `name = ...`."""
    j = _next(tokens, i)
    return _kind(tokens[j]) == "name" and tokens[j + 1] == "="  # a name is never the last token


def _unclosed(tokens: list[str], positions: list[int], paren: int, text: str,
              ending: int | None = None) -> ParseError:
    """The '(' at token `paren` is not closed; `ending` is the ';' or newline that ends its
    statement, where the ')' is missing (None: the statement goes on to the end of the text)."""
    opened_at = positions[paren]
    if ending is None:
        return error_at("add the missing ')' for the '('", text, opened_at)
    if tokens[ending] == ";":
        return error_at(f"';' inside parentheses: the '(' opened at {_place(text, opened_at, positions[ending])} "
                        "is not closed; add ')' before the ';'", text, positions[ending])
    last = _previous(tokens, paren, ending)
    missing_at = positions[last] + len(tokens[last])
    return error_at(f"unclosed '(' opened at {_place(text, opened_at, missing_at)}: add the missing ')'",
                    text, missing_at)


def _place(text: str, pos: int, seen_from: int) -> str:
    """`column 15`, or `line 2, column 15` when that is not on the line of `seen_from`."""
    line_start = text.rfind("\n", 0, pos) + 1
    column = f"column {pos - line_start + 1}"
    if text.find("\n", pos, seen_from) < 0:
        return column
    return f"line {text.count(chr(10), 0, pos) + 1}, {column}"


def _statement(tokens: list[str], positions: list[int], start: int, end: int, text: str) -> Statement:
    """The statement in tokens[start:end]. Its terminator becomes the "" that ends it, placed
    where its last token ends (newlines inside parentheses are skipped wherever they occur)."""
    last = _previous(tokens, start, end)
    tokens[end], positions[end] = "", positions[last] + len(tokens[last])
    if end - start >= 2 and tokens[start + 1] == "=" and _kind(tokens[start]) == "name":
        name = tokens[start]
        if name in _KEYWORDS or name.startswith("__"):  # (a Token is made only for the error)
            _check_name(_token(tokens, positions, start), text)
        if end - start == 2:
            raise error_at(f"nothing assigned to '{name}': write an expression after '='", text,
                           positions[end])
        return Statement(name, positions[start], *_expression(tokens, positions, start + 2, text, positions[start]))
    return Statement(None, positions[start], *_expression(tokens, positions, start, text, positions[start]))


def _previous(tokens: list[str], start: int, i: int) -> int:
    """The index of the token before i that is not a newline, or start - 1 if there is none."""
    i -= 1
    while i >= start and tokens[i] == "\n":
        i -= 1
    return i


def _expression(tokens: list[str], positions: list[int], start: int, text: str, origin: int) -> tuple:
    """Shunting-yard over one statement's tokens from `start` to its ""; the postfix items,
    in columns, their places counted from `origin`.

    The loop reads token strings; the rare rules (implicit multiplication, errors) build
    Token tuples where they need them.
    """
    out: list[tuple] = []
    emit = out.append
    ops: list = []  # entries: ("bin"|"neg", text, pos, argc) tuples, ["paren"|"call", text, pos, argc] lists
    expect_operand = True
    number_at = -1  # index of the last number read, while it is the last operand (ambiguity checks)
    i = start
    while True:
        tok = tokens[i]
        if expect_operand:
            first = tok[:1]
            if first in _NAME_START:
                if tok in _KEYWORDS or tok.startswith("__"):
                    _check_name(_token(tokens, positions, i), text)
                following = i + 1 if tokens[i + 1] != "\n" else _next(tokens, i)
                if tokens[following] == "(":
                    if tok not in FUNCTIONS:
                        raise _unknown_function(tokens, positions, i, following, text)
                    ops.append(["call", tok, positions[i], 1])
                    i = following
                    following = _next(tokens, i)
                    if tokens[following] == ")":
                        raise error_at(f"{tok}() needs an argument: {tok}(x)", text, positions[following])
                else:
                    emit(("name", tok, positions[i], 0))
                    expect_operand = False
                    number_at = -1
            elif first in _DIGITS or (first == "." and len(tok) > 1):
                emit(("num", _number(tok, positions[i], text), positions[i], 0))
                expect_operand = False
                number_at = i
            elif tok == "(":
                ops.append(["paren", "(", positions[i], 0])
            elif tok == "-":
                ops.append(("neg", "-", positions[i], 0))
            elif tok == "[":
                if tokens[_next(tokens, i)] == "]":
                    raise error_at("an empty vector '[]' has no elements: write [1, 2]", text, positions[i])
                ops.append(["vector", "[", positions[i], 1, len(out)])
            elif tok != "\n":  # a newline here is inside parentheses: the statement goes on
                raise _expected_operand(_token(tokens, positions, i), text)
        elif tok in BINARY:
            _push_infix(tok, positions[i], ops, out)
            expect_operand = True
        elif tok == ")":
            _close_paren(positions[i], ops, out, text)
        elif not tok:
            break
        elif tok == ",":
            _next_argument(positions[i], ops, out, text)
            expect_operand = True
        elif tok == "[":
            _open_index(tokens, positions, start, i, ops, out, text)
            expect_operand = True
        elif tok == "]":
            _close_bracket(positions[i], ops, out, text)
        elif tok == "(" or _kind(tok) != "op":
            number_after = _operator_before(tokens, start, number_at) if number_at >= 0 else None
            _implicit_multiplication(tokens, positions, start, i, number_after, text)
            _push_infix("*", positions[i], ops, out)
            expect_operand = True
            continue  # read the same token again as an operand
        elif tok != "\n":
            raise _unexpected_after_operand(_token(tokens, positions, i), text)
        i += 1
    while ops:
        entry = ops.pop()
        if entry[0] in ("paren", "call"):
            raise error_at("add the missing ')' for the '('", text, text.index("(", entry[2]))
        if entry[0] in _BRACKETS:
            raise error_at("add the missing ']' for the '['", text, entry[2])
        emit(entry)
    kinds, texts, places, counts = zip(*out)
    return kinds, texts, tuple([place - origin for place in places]) if origin else places, counts


def _next(tokens: list[str], i: int) -> int:
    """The index of the token after i that is not a newline."""
    i += 1
    while tokens[i] == "\n":
        i += 1
    return i


def _push_infix(symbol: str, pos: int, ops: list, out: list) -> None:
    power = _PRECEDENCE[symbol]
    right = symbol in _RIGHT_ASSOCIATIVE
    while ops:
        top = ops[-1]
        if top[0] not in ("bin", "neg"):
            break
        top_power = _PRECEDENCE[top[1] if top[0] == "bin" else "neg"]
        if top_power > power or (top_power == power and not right):
            out.append(ops.pop())
        else:
            break
    ops.append(("bin", symbol, pos, 2))


def _close_paren(pos: int, ops: list, out: list, text: str) -> None:
    while ops and ops[-1][0] in ("bin", "neg"):
        out.append(ops.pop())
    if not ops:
        raise error_at("unbalanced ')': no '(' to close; remove it or add the '(' it closes", text, pos)
    if ops[-1][0] in _BRACKETS:
        raise error_at(f"')' closes nothing here: the '[' at column {ops[-1][2] + 1} is open; "
                       "add ']' first", text, pos)
    entry = ops.pop()
    if entry[0] == "call":
        out.append(("call", entry[1], entry[2], entry[3]))


def _next_argument(pos: int, ops: list, out: list, text: str) -> None:
    while ops and ops[-1][0] in ("bin", "neg"):
        out.append(ops.pop())
    if not ops or ops[-1][0] not in ("call", *_BRACKETS):
        raise error_at("',' is only allowed between a function's arguments or elements", text, pos)
    ops[-1][3] += 1


_BRACKETS = ("vector", "index")


def _open_index(tokens: list[str], positions: list[int], start: int, i: int, ops: list, out: list,
                text: str) -> None:
    """`z[`: indexing, which follows a name, a ')' or a ']' (not a number)."""
    before = tokens[_previous(tokens, start, i)]
    if _kind(before) == "num":
        raise error_at(f"a number cannot be indexed: '{before}[' (for a product write {before}*[...])",
                       text, positions[i])
    ops.append(["index", "[", positions[i], 2, len(out)])


def _close_bracket(pos: int, ops: list, out: list, text: str) -> None:
    """`]`: the end of a vector literal (its elements are on the output) or of an index."""
    while ops and ops[-1][0] in ("bin", "neg"):
        out.append(ops.pop())
    if not ops or ops[-1][0] not in _BRACKETS:
        if ops:
            raise error_at(f"']' closes nothing here: the '(' at column {ops[-1][2] + 1} is open; "
                           "add ')' first", text, pos)
        raise error_at("unbalanced ']': no '[' to close; remove it or add the '[' it closes", text, pos)
    kind, _, opened, argc, first = ops.pop()
    if kind == "index":
        _check_indices(out[first:], text, opened)
    out.append((kind, "[", opened, argc))


def _check_indices(items: list, text: str, opened: int) -> None:
    """Indices are non-negative integer literals, so each stage has a shape known at once."""
    for item in items:
        if item[0] == "neg":
            raise error_at("negative indices are not supported: count from 0 (z[0] is the first "
                           "element)", text, item[2])
    if any(item[0] != "num" or not item[1].isdigit() for item in items):
        raise error_at("an index is a non-negative integer literal: z[0], W[1, 2]", text, opened)


def _operator_before(tokens: list[str], start: int, i: int) -> str | None:
    """The infix operator that governs the number at i, skipping unary minus signs."""
    j = _previous(tokens, start, i)
    while j >= start and tokens[j] == "-":
        before = _previous(tokens, start, j)
        if before >= start and (_kind(tokens[before]) != "op" or tokens[before] == ")"):
            break
        j = before
    return tokens[j] if j >= start and _kind(tokens[j]) == "op" else None


def _implicit_multiplication(tokens: list[str], positions: list[int], start: int, i: int,
                             number_after: str | None, text: str) -> None:
    """Allow `2x` and `3(a+b)`; refuse juxtapositions whose meaning is a guess."""
    prev, tok = _token(tokens, positions, _previous(tokens, start, i)), _token(tokens, positions, i)
    if tok.kind == "name":
        _check_name(tok, text)
    if prev.kind != "num":
        raise error_at(f"missing operator between '{prev.text}' and '{tok.text}': {_juxtaposed(prev, tok)}",
                       text, tok.pos)
    if tok.kind == "num":
        fix = ("remove the second '.'" if prev.pos + len(prev.text) == tok.pos and tok.text[0] == "."
               else f"write {prev.text}*{tok.text} for a product")
        raise error_at(f"missing operator between numbers '{prev.text}' and '{tok.text}': {fix}",
                       text, tok.pos)
    adjacent = prev.pos + len(prev.text) == tok.pos
    if adjacent and tok.kind == "name":
        _check_number_suffix(prev, tok, text)
    if number_after in ("/", "^", "**"):
        shown = text[prev.pos:tok.pos + len(tok.text)]
        raise error_at(f"ambiguous '{number_after}{shown}': add '*' or parentheses to say what is meant",
                     text, prev.pos)


def _juxtaposed(prev: Token, tok: Token) -> str:
    """The fix for two operands side by side: `sin x` meant a call, `a b` a product."""
    if prev.text in FUNCTIONS:
        return f"a function needs parentheses: {prev.text}({tok.text})"
    if prev.kind != "op" and tok.kind != "op":
        return f"write {prev.text}*{tok.text} for a product"
    return "put '*' between them for a product"


def _in_decimal(literal: str) -> str:
    """`write 16` for 0x10, when the literal is a valid one in Python's notation."""
    try:
        return f"write {int(literal, 0)}" if len(literal) <= _SHOWN_ARGUMENT else "write it in decimal"
    except ValueError:
        return "write the number in decimal"


def _check_number_suffix(number: Token, name: Token, text: str) -> None:
    if number.text == "0" and name.text[0] in "xXbBoO" and len(name.text) > 1:
        fix = _in_decimal(number.text + name.text)
        raise error_at(f"hexadecimal, binary and octal literals are not supported: {fix}", text, number.pos)
    if name.text[0] == "_":
        digits = number.text + name.text.replace("_", "")
        fix = f"write {digits}" if digits.isdigit() else "remove the '_'"
        raise error_at(f"'_' digit separators are not supported: {fix}", text, name.pos)
    if name.text in ("e", "E"):
        raise error_at(f"ambiguous '{number.text}{name.text}': write {number.text}*{name.text} "
                     f"for a product or a full exponent such as {number.text}{name.text}0",
                     text, name.pos)


_MAX_DIGITS = 400  # a longer literal is a mistake or an attack; float64 keeps 17 digits


def _number(literal: str, pos: int, text: str) -> str:
    """The literal, if it has at most _MAX_DIGITS digits and is within float64's range."""
    if len(literal) > _MAX_DIGITS and len(literal.split("e")[0].split("E")[0]) > _MAX_DIGITS:
        raise error_at(f"number out of range: {short(literal)} has more than {_MAX_DIGITS} digits",
                     text, pos)
    if (len(literal) > 300 or "e" in literal or "E" in literal) and not math.isfinite(float(literal)):
        raise error_at(f"number out of range: {short(literal)} (the largest is about 1.8e308)",
                     text, pos)
    return literal


def _check_name(tok: Token, text: str) -> None:
    if tok.text.startswith("__"):
        raise error_at(f"names starting with '__' are not allowed: '{short(tok.text)}'", text, tok.pos)
    if tok.text in _KEYWORDS:
        raise error_at(f"'{tok.text}' is a Python keyword, not part of an expression", text, tok.pos)


# Other names of functions gradcalc has, with what to write instead: {0}, {1} are the
# arguments as written, {args} all of them. Only entries whose function is registered (or
# that need none: "") are offered; difflib finds the near misses (sine → sin).
_OTHER_NAMES = {
    "arcsin": ("asin", "asin({0})"), "arccos": ("acos", "acos({0})"), "arctan": ("atan", "atan({0})"),
    "cosine": ("cos", "cos({0})"), "tangent": ("tan", "tan({0})"),
    "log10": ("log", "log({0}, 10)"), "log2": ("log", "log({0}, 2)"),
    "log1p": ("log", "log(1 + {0})"), "expm1": ("exp", "exp({0}) - 1"),
    "pow": ("", "{0}**{1}"), "power": ("", "{0}**{1}"), "sqr": ("", "{0}**2"),
    "logistic": ("sigmoid", "sigmoid({0})"), "expit": ("sigmoid", "sigmoid({0})"),
    "fabs": ("abs", "abs({0})"), "maximum": ("max", "max({args})"), "minimum": ("min", "min({args})"),
}
_PLACEHOLDERS = ("x", "y")
_ATOM = re.compile(r"[A-Za-z0-9_.]+")
_SHOWN_ARGUMENT = 40  # characters of an argument quoted in a suggestion; longer ones are `...`


def _unknown_function(tokens: list[str], positions: list[int], i: int, paren: int, text: str) -> ParseError:
    """`name(` where name is no function: the call to write instead, or the near miss, or
    the product `x*(y+1)` that a variable before a parenthesis usually means."""
    name = tokens[i]
    arguments = _call_arguments(tokens, positions, paren, text)
    shown = [arg if len(arg) <= _SHOWN_ARGUMENT else "..." for arg in arguments or ["..."]]
    other = _OTHER_NAMES.get(name) or _OTHER_NAMES.get(name.lower())
    if other and (not other[0] or other[0] in FUNCTIONS):
        fix = f"write {_spelled(other[1], shown)}"
    elif near := _near_function(name):
        fix = f"did you mean {near}({', '.join(shown)})?"
    else:
        known = ", ".join(sorted(FUNCTIONS))
        short_call = len(shown) == 1 and len(name) <= _SHOWN_ARGUMENT
        product = f"; for a product write {name}*({shown[0]})" if short_call else ""
        fix = f"the functions are {known}{product}"
    return error_at(f"unknown function '{short(name)}': {fix}", text, positions[i])


def _near_function(name: str) -> str | None:
    import difflib  # only on this error path

    lowered = name.lower()
    if lowered in FUNCTIONS:
        return lowered
    matches = difflib.get_close_matches(lowered, FUNCTIONS, n=1, cutoff=0.7)
    return matches[0] if matches else None


def _spelled(template: str, arguments: list[str]) -> str:
    """The template filled with the arguments (placeholders if their number does not fit);
    next to an operator (`{0}**{1}`), an argument that is not a name or number gets parentheses."""
    needed = 2 if "{1}" in template else 1
    if "{args}" not in template and len(arguments) != needed:
        arguments = list(_PLACEHOLDERS[:needed])
    if template.startswith("{"):
        arguments = [arg if _ATOM.fullmatch(arg) else f"({arg})" for arg in arguments]
    return template.format(*arguments, args=", ".join(arguments))


def _call_arguments(tokens: list[str], positions: list[int], paren: int, text: str) -> list[str] | None:
    """The arguments of the call whose '(' is token `paren`, as written (blanks collapsed);
    None if the statement ends before its ')'."""
    depth, start, arguments = 0, positions[paren] + 1, []
    i = paren
    while tokens[i]:
        token = tokens[i]
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if depth == 0 or (token == "," and depth == 1):
            arguments.append(" ".join(text[start:positions[i]].split()))
            start = positions[i] + 1
            if not depth:
                return arguments
        i += 1
    return None


def call_hint(name: str) -> str:
    """How to write the call a variable without a value may have meant: `sin` alone, or
    `sinx` (one name) for sin(x). Only a hint on that error: `sinx` and `cost` are fine
    names for variables that are given values."""
    if name in FUNCTIONS:
        return f"{name} is a function: write {name}(...)"
    for function in sorted(FUNCTIONS, key=len, reverse=True):  # sinh before sin
        rest = name[len(function):]
        if name.startswith(function) and _ARGUMENT_LIKE.fullmatch(rest):
            return f"'{name}' is one name: for the function write {function}({rest})"
    return ""


_ARGUMENT_LIKE = re.compile(r"[0-9]*[A-Za-z][0-9]*|[0-9]+")  # x, x1, 2x, 3: not a word


def _expected_operand(tok: Token, text: str) -> ParseError:
    if tok.kind == "end":
        return error_at("unexpected end of input: expected a number, a name or '('", text, tok.pos)
    if tok.text == "+":
        return error_at("unary '+' is not supported: remove it", text, tok.pos)
    if tok.text == ")":
        return error_at("unexpected ')': expected a number, a name or '('", text, tok.pos)
    return error_at(f"unexpected '{_visible(tok.text)}': expected a number, a name or '('", text, tok.pos)


def _unexpected_after_operand(tok: Token, text: str) -> ParseError:
    if tok.text == "==":
        return error_at("comparisons ('==') are not supported", text, tok.pos)
    if tok.text == "=":
        return error_at("'=' only assigns a stage at the start of a statement (`name = expr`)",
                      text, tok.pos)
    if tok.text == "//":
        return error_at("'//' (floor division) is not supported", text, tok.pos)
    return error_at(f"unexpected '{_visible(tok.text)}'", text, tok.pos)


def _visible(s: str) -> str:
    return {"\n": "newline", ";": ";"}.get(s, s)


def _bad_character(text: str, pos: int) -> ParseError:
    ch = text[pos]
    if ch == "|":
        return error_at(f"'|' is not an operator here: for an absolute value write {_absolute(text, pos)}",
                        text, pos)
    if ch in _REFUSED:
        return error_at(_REFUSED[ch], text, pos)
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return error_at(f"invalid UTF-8 (byte 0x{code - 0xDC00:02X})", text, pos)
    if code == 0:
        return error_at("NUL character (U+0000) is not allowed: remove it", text, pos)
    if code < 0x20 or code == 0x7F:
        return error_at(f"control character U+{code:04X} is not allowed: remove it", text, pos)
    import unicodedata  # only on this error path

    name = unicodedata.name(ch, "unnamed")
    return error_at(f"character U+{code:04X} ({name}) is not allowed: {_ascii_fix(text, pos)}", text, pos)


def _absolute(text: str, pos: int) -> str:
    """`abs(x)` for `|x|` (what is between the bars, if they close on the same line)."""
    close = text.find("|", pos + 1)
    inner = " ".join(text[pos + 1:close].split()) if close > 0 else ""
    if not inner or "\n" in text[pos:close] or len(inner) > _SHOWN_ARGUMENT:
        inner = "..."
    return f"abs({inner})"


# What to type for the operators that PDFs and word processors put in place of ASCII ones.
# Other characters are offered their NFKC compatibility form when it is ASCII (full-width
# `ｘ` → x, `１` → 1, mathematical `𝑥` → x, a no-break space → a space), digits of other
# scripts their value (`٣` → 3), superscripts a power (`²` → ^2), Greek letters their names
# (`π` → pi). None of it is read: only suggested.
_LOOKALIKES = {
    "\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u2219": "*", "\u2217": "*", "\u2022": "*",
    "\u00f7": "/", "\u2215": "/", "\u2044": "/",
}
_GREEK_SPELLING = {"lamda": "lambda"}  # Unicode's name of λ is LAMDA


def _ascii_fix(text: str, pos: int) -> str:
    """What to type instead of the non-ASCII characters from pos on, or how to write ASCII."""
    import unicodedata

    ch = text[pos]
    if unicodedata.category(ch) == "Cf":  # zero-width spaces, byte-order marks, joiners
        return "it is invisible; delete it"
    greek = unicodedata.name(unicodedata.normalize("NFKC", ch)[:1] or ch, "").split()  # µ is μ
    if greek[:1] == ["GREEK"] and len(greek) == 4 and greek[2] == "LETTER":
        spelled = _GREEK_SPELLING.get(greek[3].lower(), greek[3].lower())
        return f"for '{ch}' type '{spelled if greek[1] == 'SMALL' else spelled.capitalize()}'"
    superscript = _superscript(ch)
    end, typed, stop = pos, [], min(len(text), pos + _SHOWN_ARGUMENT)
    while end < stop and not text[end].isascii() and _superscript(text[end]) == superscript:
        form = _ascii_form(text[end])
        if form is None:
            break
        typed.append(form)
        end += 1
    if not typed:
        return "use ASCII letters, digits and operators"
    written = ("^" if superscript else "") + "".join(typed)
    shown = printable(text[pos:end])
    return f"for '{shown}' type a space" if written.isspace() else f"for '{shown}' type '{written}'"


def _superscript(ch: str) -> bool:
    import unicodedata

    return unicodedata.name(ch, "").startswith("SUPERSCRIPT")


def _ascii_form(ch: str) -> str | None:
    import unicodedata

    form = unicodedata.normalize("NFKC", ch)
    form = "".join(_LOOKALIKES.get(c, c) for c in form)
    if unicodedata.category(form[:1]) == "Nd" and len(form) == 1:  # `٣`: a digit of another script
        form = str(unicodedata.decimal(form))
    return form if form.isascii() and (form.isprintable() or form.isspace()) and form else None


def error_at(message: str, text: str, pos: int) -> ParseError:
    """A ParseError at a 0-based offset, reported as line and column of the user's text."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    if line_start or line_end >= 0:
        message = f"line {text.count(chr(10), 0, pos) + 1}: {message}"
    return ParseError(message, line, pos - line_start + 1)
