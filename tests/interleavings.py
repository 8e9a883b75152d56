"""Run the steps of several actors (webhook requests, workers) in a chosen order, one step at a time.

Each actor is a thread that stops at every *step*: a DynamoDB call, a queue write, a BizKitHub call,
a poll's sleep. A seeded random choice says which stopped actor takes its next step, so a seed is
one interleaving, replayable. Each DynamoDB call is atomic (as in DynamoDB), which is the grain at
which our conditional writes can race.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any


class ActorCrashed(BaseException):
    """Raised inside an actor the schedule chose to kill at a step (a Lambda dying mid-request).
    A BaseException, so no `except Exception` in the code under test can swallow it."""


class Scheduler:
    def __init__(self, seed: int, *, crash_probability: float = 0.0) -> None:
        self._random = random.Random(seed)
        self._crash_probability = crash_probability
        self._condition = threading.Condition()
        self._stopped: set[str] = set()  # actors waiting at a step
        self._running: str | None = None
        self._finished: set[str] = set()
        self._actors: dict[str, threading.Thread] = {}
        self._crash_next: set[str] = set()
        self.errors: list[tuple[str, BaseException]] = []
        self.crashed: list[str] = []
        self.steps = 0
        self.on_crash: Callable[[str], None] = lambda name: None

    def step(self, label: str = "") -> None:
        """Called by an actor before each step: wait for the schedule to say go."""
        name = threading.current_thread().name
        if name not in self._actors:
            return  # not an actor (the test's own set-up or checks)
        with self._condition:
            self._stopped.add(name)
            self._running = None
            self._condition.notify_all()
            while self._running != name:
                self._condition.wait()
            crash = name in self._crash_next
        if crash:
            raise ActorCrashed(f"{name} crashed before {label}")

    def add(self, name: str, body: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self.step("start")
                body()
            except ActorCrashed:
                self.crashed.append(name)
                self.on_crash(name)
            except BaseException as error:  # reported by the test, not lost in a thread
                self.errors.append((name, error))
            finally:
                with self._condition:
                    self._finished.add(name)
                    self._running = None
                    self._condition.notify_all()

        self._actors[name] = threading.Thread(target=run, name=name, daemon=True)

    def run(self, *, max_steps: int = 2_000) -> None:
        for thread in self._actors.values():
            thread.start()
        with self._condition:
            while True:
                # Wait until the running actor stopped at its next step or finished.
                while self._running is not None or not self._settled():
                    if not self._condition.wait(timeout=30):
                        raise TimeoutError("an actor neither reached a step nor finished in 30 s")
                ready = sorted(self._stopped)
                if not ready:
                    break
                self.steps += 1
                if self.steps > max_steps:
                    raise RuntimeError(f"more than {max_steps} steps: a livelock?")
                chosen = self._random.choice(ready)
                if self._random.random() < self._crash_probability:
                    self._crash_next.add(chosen)
                self._stopped.discard(chosen)
                self._running = chosen
                self._condition.notify_all()
        for thread in self._actors.values():
            thread.join(timeout=30)

    def _settled(self) -> bool:
        return all(name in self._stopped or name in self._finished for name in self._actors)


class Stepped:
    """A client whose every method call is one step of the calling actor."""

    def __init__(
        self, scheduler: Scheduler, wrapped: Any, *, after: Callable[[str], None] | None = None
    ) -> None:
        self._scheduler = scheduler
        self._wrapped = wrapped
        self._after = after

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._wrapped, name)
        if not callable(attribute):
            return attribute

        def stepped(*args: Any, **kwargs: Any) -> Any:
            self._scheduler.step(name)
            try:
                return attribute(*args, **kwargs)
            finally:
                if self._after is not None:
                    self._after(name)

        return stepped
