"""A point in time by which a piece of work must be over, checked before each step starts.

Each step that can block (an AWS call, the BizKitHub call) has a known worst case given its
timeouts; a step starts only when the time left can hold that worst case, so the whole answer is
bounded by the deadline rather than by the sum of every timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# The worst an AWS call can take with the clients' timeouts (services._AWS_CONFIG: one try, 1 s to
# connect, 2 s to read); a step that makes one starts only when this much time is left.
AWS_CALL_WORST_SECONDS = 3.2


@dataclass(frozen=True)
class Deadline:
    at: float  # on `clock`'s scale
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def allows(self, seconds: float) -> bool:
        """Whether a step that may take `seconds` can still finish in time."""
        return self.remaining() >= seconds

    def less(self, seconds: float) -> Deadline:
        """An earlier deadline: `seconds` are kept back for the steps that must follow."""
        return Deadline(self.at - seconds, self.clock)
