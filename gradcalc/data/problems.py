"""What went wrong in which rows: the records every data module passes around.

Bad rows are counted and the first few described; rows at a kink are counted per stage.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from gradcalc.errors import DataError, DomainError, ExitCode, GradcalcError

FIRST_FEW = 5  # bad rows described in full; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One bad row: its 1-based row number, the one-line message and the exit code it earns."""

    row: int
    message: str
    code: ExitCode
    stage: str | None = None

    def error(self, prefix: str = "") -> GradcalcError:
        error: DomainError | DataError
        if self.code == ExitCode.MATH:
            error = DomainError(prefix + self.message, self.stage)
        else:
            error = DataError(prefix + self.message, self.row)
        error.row = self.row
        return error


@dataclass
class Problems:
    """Bad rows seen so far: how many, and the first few in row order."""

    count: int = 0
    first: list[Problem] = field(default_factory=list)

    def add(self, count: int, described: Iterable[Problem]) -> None:
        self.count += count
        self.first = sorted([*self.first, *described], key=lambda p: p.row)[:FIRST_FEW]

    def merge(self, other: "Problems") -> None:
        self.add(other.count, other.first)


@dataclass
class Kink:
    """Rows at a non-differentiable point of one stage: how many, the first, and the note."""

    count: int
    row: int
    note: str

    def merge(self, other: "Kink") -> "Kink":
        first = self if self.row <= other.row else other
        return Kink(self.count + other.count, first.row, first.note)
