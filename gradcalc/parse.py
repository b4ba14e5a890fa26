"""Text → syntax, under a whitelist, without eval and without recursion.

The grammar: numbers, ASCII names, `+ - * / ** ^` (`^` is power, right-associative), unary
minus, parentheses, calls of registry functions, implicit multiplication after a number
(`3(a+b)`, `2x`), and programs of statements `name = expr` separated by `;` or newlines.
Anything else is a ParseError with the column.

Expressions come out in postfix (RPN) order, which is the order lowering builds nodes in:
a shunting-yard loop with explicit stacks, so a 50,000-term sum or 10,000 nested parentheses
cost time linear in the length and no Python stack.
"""
from __future__ import annotations

import gc
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from . import limits
from .errors import ParseError, short
from .ops import BINARY, FUNCTIONS

_NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII only: \d takes other scripts
_TOKEN = re.compile(
    r"(?P<space>[ \t\r\f\v]+)"
    rf"|(?P<num>{_NUMBER})"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|==|//|[-+*/^(),;=\n])"
)

# Python keywords make no sense as variables and signal code; `lambda` stays a valid name
# (a common Greek-letter parameter) because `lambda: ...` fails on the `:` anyway.
_KEYWORDS = frozenset(
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is nonlocal not or pass raise return try while with "
    "yield".split()
)

_REFUSED = {
    "#": "comments ('#') are not supported",
    "%": "'%' is not an operator here",
    "!": "'!' is not an operator here (factorial is not supported)",
    "@": "'@' (matrix multiplication) is not supported",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ".": "'.' outside a number (attribute access) is not allowed",
    ":": "':' is not allowed (no lambdas, slices or annotations)",
    "[": "subscripts ('[') are not allowed",
    "]": "subscripts (']') are not allowed",
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
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4, "**": 4}
_RIGHT_ASSOCIATIVE = frozenset(("^", "**"))


class Token(NamedTuple):  # a tuple: a million of them are made in a second
    kind: str  # num, name, op, end
    text: str
    pos: int  # 0-based offset into the whole source


@dataclass(frozen=True)
class Statement:
    target: str | None  # the assigned name, or None for a bare expression
    target_pos: int
    rpn: tuple  # postfix items: (kind, text, pos, argc); kind in num, name, call, bin, neg


@dataclass(frozen=True)
class Program:
    text: str
    statements: tuple[Statement, ...]


@contextmanager
def collector_paused():
    """Parsing and lowering make millions of objects and no cycles; CPython's cycle collector
    would scan them again and again, for half the time of a 1 MB input."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(text: str) -> Program:
    """Parse an expression or a program of `name = expr` statements."""
    limits.check("GRADCALC_MAX_INPUT", len(text), "the text is too long")
    statements = []
    tokens = tokenize(text)
    start = 0
    for end in _statement_ends(tokens, text):
        chunk = tokens[start:end]
        start = end + 1
        if chunk:
            statements.append(_statement(chunk, text))
    if not statements:
        raise ParseError("empty expression: nothing to evaluate")
    for statement in statements[:-1]:
        if statement.target is None:
            raise _error("only the last statement may be a bare expression; name this one "
                         "(`u = ...`)", text, statement.rpn[-1][2])
    return Program(text, tuple(statements))


def parse_expression(text: str) -> tuple:
    """Parse a single expression (no assignments): its postfix items."""
    program = parse(text)
    if len(program.statements) > 1 or program.statements[0].target is not None:
        raise ParseError("expected a single expression, not a program")
    return program.statements[0].rpn


_SIGNED_NUMBER = re.compile(rf"-?{_NUMBER}\Z")


def signed_number(text: str) -> str | None:
    """`text` if it is one plain literal such as `-1.5e3` (range-checked), else None.

    The fast path for values: a 100,000-element `--at` vector need not be parsed as programs.
    """
    if not _SIGNED_NUMBER.match(text):
        return None
    digits = text.lstrip("-")
    _number(Token("num", digits, len(text) - len(digits)), text)
    return text


def tokenize(text: str) -> list[Token]:
    tokens = []
    pos, size = 0, len(text)
    match = _TOKEN.match
    while pos < size:
        m = match(text, pos)
        if m is None:
            raise _bad_character(text, pos)
        kind = m.lastgroup
        if kind != "space":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", size))
    return tokens


def _statement_ends(tokens: list[Token], text: str):
    """Indices of the `;` and newline tokens that end statements (newlines in parentheses don't)."""
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.kind != "op":
            if tok.kind == "end":
                yield i
            continue
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth = max(depth - 1, 0)
        elif tok.text == ";" and depth:
            raise _error("';' inside parentheses", text, tok.pos)
        elif tok.text in ";\n" and not depth:
            yield i


def _statement(chunk: list[Token], text: str) -> Statement:
    chunk = [t for t in chunk if not (t.kind == "op" and t.text == "\n")]
    chunk.append(Token("end", "", chunk[-1].pos + len(chunk[-1].text) if chunk else len(text)))
    if len(chunk) > 2 and chunk[0].kind == "name" and chunk[1].text == "=":
        name = chunk[0]
        _check_name(name, text)
        if len(chunk) == 3:
            raise _error(f"nothing assigned to '{name.text}'", text, chunk[2].pos)
        return Statement(name.text, name.pos, _expression(chunk[2:], text))
    return Statement(None, chunk[0].pos, _expression(chunk, text))


def _expression(tokens: list[Token], text: str) -> tuple:
    """Shunting-yard over one statement's tokens; returns the postfix items."""
    out: list[tuple] = []
    ops: list[list] = []  # entries: [kind, text, pos, argc]; kind in bin, neg, paren, call
    expect_operand = True
    number_after = None  # the operator token before the last number, for ambiguity checks
    i = 0
    while True:
        tok = tokens[i]
        if expect_operand:
            if tok.kind == "num":
                out.append(("num", _number(tok, text), tok.pos, 0))
                number_after = _operator_before(tokens, i)
                expect_operand = False
            elif tok.kind == "name":
                _check_name(tok, text)
                if tokens[i + 1].text == "(":
                    _check_function(tok, text)
                    ops.append(["call", tok.text, tok.pos, 1])
                    i += 1
                    if tokens[i + 1].text == ")":
                        raise _error(f"{tok.text}() needs an argument", text, tokens[i + 1].pos)
                else:
                    out.append(("name", tok.text, tok.pos, 0))
                    expect_operand = False
                    number_after = None
            elif tok.text == "(":
                ops.append(["paren", "(", tok.pos, 0])
            elif tok.text == "-":
                ops.append(["neg", "-", tok.pos, 0])
            else:
                raise _expected_operand(tok, text)
        else:
            if tok.kind == "op" and tok.text in BINARY:
                _push_infix(tok.text, tok.pos, ops, out)
                expect_operand = True
            elif tok.kind in ("name", "num") or tok.text == "(":
                _implicit_multiplication(tokens, i, number_after, text)
                _push_infix("*", tok.pos, ops, out)
                expect_operand = True
                continue  # read the same token again as an operand
            elif tok.text == ")":
                _close_paren(tok, ops, out, text)
            elif tok.text == ",":
                _next_argument(tok, ops, out, text)
                expect_operand = True
            elif tok.kind == "end":
                break
            else:
                raise _unexpected_after_operand(tok, text)
        i += 1
    while ops:
        entry = ops.pop()
        if entry[0] in ("paren", "call"):
            raise _error("unbalanced '(': missing ')'", text, entry[2] + (len(entry[1]) if entry[0] == "call" else 0))
        out.append(tuple(entry))
    return tuple(out)


def _push_infix(symbol: str, pos: int, ops: list, out: list) -> None:
    power = _PRECEDENCE[symbol]
    right = symbol in _RIGHT_ASSOCIATIVE
    while ops:
        top = ops[-1]
        if top[0] not in ("bin", "neg"):
            break
        top_power = _PRECEDENCE[top[1] if top[0] == "bin" else "neg"]
        if top_power > power or (top_power == power and not right):
            out.append(tuple(ops.pop()))
        else:
            break
    ops.append(["bin", symbol, pos, 2])


def _close_paren(tok: Token, ops: list, out: list, text: str) -> None:
    while ops and ops[-1][0] in ("bin", "neg"):
        out.append(tuple(ops.pop()))
    if not ops:
        raise _error("unbalanced ')': no '(' to close", text, tok.pos)
    entry = ops.pop()
    if entry[0] == "call":
        out.append(("call", entry[1], entry[2], entry[3]))


def _next_argument(tok: Token, ops: list, out: list, text: str) -> None:
    while ops and ops[-1][0] in ("bin", "neg"):
        out.append(tuple(ops.pop()))
    if not ops or ops[-1][0] != "call":
        raise _error("',' is only allowed between a function's arguments", text, tok.pos)
    ops[-1][3] += 1


def _operator_before(tokens: list[Token], i: int) -> str | None:
    """The infix operator that governs the number at i, skipping unary minus signs."""
    j = i - 1
    while j >= 0 and tokens[j].text == "-" and (j == 0 or tokens[j - 1].kind == "op"
                                                and tokens[j - 1].text not in ")"):
        j -= 1
    return tokens[j].text if j >= 0 and tokens[j].kind == "op" else None


def _implicit_multiplication(tokens: list[Token], i: int, number_after: str | None, text: str) -> None:
    """Allow `2x` and `3(a+b)`; refuse juxtapositions whose meaning is a guess."""
    prev, tok = tokens[i - 1], tokens[i]
    if tok.kind == "name":
        _check_name(tok, text)
    if prev.kind != "num":
        what = f"'{prev.text}' and '{tok.text}'" if tok.kind != "end" else f"'{prev.text}'"
        raise _error(f"missing operator between {what}", text, tok.pos)
    if tok.kind == "num":
        raise _error(f"missing operator between numbers '{prev.text}' and '{tok.text}'", text, tok.pos)
    adjacent = prev.pos + len(prev.text) == tok.pos
    if adjacent and tok.kind == "name":
        _check_number_suffix(prev, tok, text)
    if number_after in ("/", "^", "**"):
        shown = text[prev.pos:tok.pos + len(tok.text)]
        raise _error(f"ambiguous '{number_after}{shown}': add '*' or parentheses to say what is meant",
                     text, prev.pos)


def _check_number_suffix(number: Token, name: Token, text: str) -> None:
    if number.text == "0" and name.text[0] in "xXbBoO" and len(name.text) > 1:
        raise _error("hexadecimal, binary and octal literals are not supported", text, number.pos)
    if name.text[0] == "_":
        raise _error("'_' digit separators are not supported", text, name.pos)
    if name.text in ("e", "E"):
        raise _error(f"ambiguous '{number.text}{name.text}': write {number.text}*{name.text} "
                     f"for a product or a full exponent such as {number.text}{name.text}0",
                     text, name.pos)


_MAX_DIGITS = 400  # a longer literal is a mistake or an attack; float64 keeps 17 digits


def _number(tok: Token, text: str) -> str:
    digits = tok.text.split("e")[0].split("E")[0]
    if len(digits) > _MAX_DIGITS:
        raise _error(f"number out of range: {short(tok.text)} has more than {_MAX_DIGITS} digits",
                     text, tok.pos)
    if not math.isfinite(float(tok.text)):
        raise _error(f"number out of range: {short(tok.text)} (the largest is about 1.8e308)",
                     text, tok.pos)
    return tok.text


def _check_name(tok: Token, text: str) -> None:
    if tok.text.startswith("__"):
        raise _error(f"names starting with '__' are not allowed: '{short(tok.text)}'", text, tok.pos)
    if tok.text in _KEYWORDS:
        raise _error(f"'{tok.text}' is a Python keyword, not part of an expression", text, tok.pos)


def _check_function(tok: Token, text: str) -> None:
    if tok.text not in FUNCTIONS:
        known = ", ".join(sorted(FUNCTIONS))
        raise _error(f"unknown function '{short(tok.text)}' (known: {known})", text, tok.pos)


def _expected_operand(tok: Token, text: str) -> ParseError:
    if tok.kind == "end":
        return _error("unexpected end of input: expected a number, a name or '('", text, tok.pos)
    if tok.text == "+":
        return _error("unary '+' is not supported", text, tok.pos)
    if tok.text == ")":
        return _error("unexpected ')': expected a number, a name or '('", text, tok.pos)
    return _error(f"unexpected '{_visible(tok.text)}': expected a number, a name or '('", text, tok.pos)


def _unexpected_after_operand(tok: Token, text: str) -> ParseError:
    if tok.text == "==":
        return _error("comparisons ('==') are not supported", text, tok.pos)
    if tok.text == "=":
        return _error("'=' only assigns a stage at the start of a statement (`name = expr`)",
                      text, tok.pos)
    if tok.text == "//":
        return _error("'//' (floor division) is not supported", text, tok.pos)
    return _error(f"unexpected '{_visible(tok.text)}'", text, tok.pos)


def _visible(s: str) -> str:
    return {"\n": "newline", ";": ";"}.get(s, s)


def _bad_character(text: str, pos: int) -> ParseError:
    ch = text[pos]
    if ch in _REFUSED:
        return _error(_REFUSED[ch], text, pos)
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return _error(f"invalid UTF-8 (byte 0x{code - 0xDC00:02X})", text, pos)
    if code == 0:
        return _error("NUL character (U+0000) is not allowed", text, pos)
    if code < 0x20 or code == 0x7F:
        return _error(f"control character U+{code:04X} is not allowed", text, pos)
    import unicodedata  # only on this error path

    name = unicodedata.name(ch, "unnamed")
    return _error(f"character U+{code:04X} ({name}) is not allowed: use ASCII letters, "
                  "digits and operators", text, pos)


def _error(message: str, text: str, pos: int) -> ParseError:
    """A ParseError at a 0-based offset, reported as line and column of the user's text."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    if line_start or line_end >= 0:
        message = f"line {text.count(chr(10), 0, pos) + 1}: {message}"
    return ParseError(message, line, pos - line_start + 1)
