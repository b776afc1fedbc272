"""The wall clock of a training run: its time budget, and where the time went (updates, evaluations, model
selection), from which the update rate and the update the run will end at are estimated."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass
class Clock:
    """Wall time of one ``run()`` call: its budget (0 minutes = none) and the seconds spent so far on updates
    and on evaluations, from which the update rate and the cost of the end of the run are estimated."""

    minutes: float = 0.0
    first_update: int = 0
    start: float = field(default_factory=time.monotonic)
    train_s: float = 0.0
    eval_s: float = 0.0
    last_eval_s: float = 0.0
    select_s: float = 0.0

    def seconds(self) -> dict:
        """Where the last ``run()`` call's time went, in seconds (updates, live evaluations, selection)."""
        return {"updates": self.train_s, "evaluations": self.eval_s, "selection": self.select_s,
                "wall": time.monotonic() - self.start}

    def left(self) -> float:
        """Seconds of budget left (infinite without a budget)."""
        return self.minutes * 60 - (time.monotonic() - self.start) if self.minutes else math.inf

    def spent(self, reserve: float) -> bool:
        """Whether no time is left beyond ``reserve`` seconds."""
        return self.left() <= reserve

    def projected(self, update: int, updates: int) -> int:
        """The update at which the run will end: ``updates``, or fewer when the budget ends it first."""
        busy = self.train_s + self.eval_s
        if not self.minutes or busy <= 0 or update <= self.first_update:
            return updates
        rate = (update - self.first_update) / busy
        return int(min(updates, update + max(0.0, self.left()) * rate))
