"""The time budget of a submission run: from the measured rate, decide which optional work still fits
(test-time augmentation first, then ensemble members; never the first member)."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable


class BudgetGuard:
    """Decides, from measured throughput, which optional work still fits in the time budget.

    `clock` is injectable (tests simulate a tiny budget). `reserve_s` is kept for writing the file.
    """

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic, reserve_s: float = 0.0,
                 safety: float = 0.9):
        self.budget_s, self.clock, self.reserve_s, self.safety = float(budget_s), clock, reserve_s, safety
        self.start = clock()
        self.notes: list = []

    def elapsed_s(self) -> float:
        return self.clock() - self.start

    def remaining_s(self) -> float:
        return self.budget_s - self.reserve_s - self.elapsed_s()

    def expired(self) -> bool:
        return self.remaining_s() <= 0

    def fits(self, done_units: float, remaining_units: float) -> bool:
        """Would `remaining_units` of work at the rate measured so far finish within the budget?"""
        if done_units <= 0:
            return True
        seconds_per_unit = self.elapsed_s() / done_units
        return remaining_units * seconds_per_unit <= self.safety * self.remaining_s()

    def note(self, message: str) -> None:
        self.notes.append(message)
        warnings.warn(message, stacklevel=3)


@dataclass
class BudgetPlan:
    """What is still to run; the guard shrinks it (TTA first, then ensemble members, never the first)."""

    groups: list                        # [(AudioConfig, kit.infer.members.Runner)]
    totals: list                        # windows per group (from file headers)
    tta: str
    done_units: float = 0.0
    done_windows: list = field(default_factory=list)

    def views(self, runner) -> int:
        return len(runner.active()) * (2 if self.tta == "shift" else 1)

    def remaining_units(self) -> float:
        return sum(max(0, total - done) * self.views(runner)
                   for (_, runner), total, done in zip(self.groups, self.totals, self.done_windows))

    def shrink(self, guard: BudgetGuard) -> None:
        while not guard.fits(self.done_units, self.remaining_units()):
            if self.tta != "none":
                self.tta = "none"
                guard.note("time budget: the measured rate does not fit; test-time augmentation dropped")
                continue
            members = [m for _, runner in self.groups for m in runner.members if m.active]
            if len(members) <= 1:
                return
            members[-1].active = False
            guard.note(f"time budget: the measured rate does not fit; ensemble member {members[-1].path} dropped")


__all__ = ["BudgetGuard", "BudgetPlan"]
