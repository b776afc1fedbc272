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


def relabel(
    gen: Generator[Progress, None, T], stage: str, message: str | None = None, offset: int = 0,
    total: int | None = None,
) -> Generator[Progress, None, T]:
    """Pass a job's progress on as another stage (with another message), its counts shifted by ``offset``
    out of ``total`` (default the job's own); returns the job's value."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        yield Progress(stage, offset + p.done, p.total if total is None else total, message or p.message)


def prefixed(gen: Generator[Progress, None, T], prefix: str) -> Generator[Progress, None, T]:
    """Pass a job's progress on with ``prefix`` before each of its stage names (one of several sub-jobs whose
    stages share names); returns the job's value."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        yield Progress(f"{prefix}{p.stage}", p.done, p.total, p.message, p.payload)
