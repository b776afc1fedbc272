"""Progress records that long-running generators yield, and a helper to run such a generator to its end."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One step of a long computation: ``done`` out of ``total`` in ``stage``, plus optional payload."""

    stage: str
    done: int
    total: int
    message: str = ""
    payload: Any = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def drain(gen: Generator[Progress, None, T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Run a progress generator to its end and return its return value."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(p)
