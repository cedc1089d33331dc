"""Run service calls in real threads whose first writes happen at the same moment.

A plain barrier before the calls makes a race likely; `race` makes it certain: each thread
runs its reads, then waits at its first INSERT/UPDATE/DELETE until every other thread has
reached its own first write (or has finished without writing). So every call decides on the
same, old state of the database, and the database (row locks, unique constraints, guarded
updates) is what must sort them out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Outcome:
    """What one call did: its return value or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Gate:
    parties: int
    arrived: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)
    local: threading.local = field(default_factory=threading.local)
    writers: int = 0

    def arrive(self, *, writing: bool) -> None:
        """Count this thread in (once) and wait until every party has arrived."""
        if not getattr(self.local, "racing", False) or getattr(self.local, "arrived", False):
            return
        self.local.arrived = True
        with self.condition:
            self.arrived += 1
            self.writers += writing
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.arrived >= self.parties, timeout=20)


def race(engine: Engine, *calls: Callable[[], Any], timeout: float = 60) -> tuple[list, bool]:
    """Run the calls at once; returns their outcomes in order and whether every call reached
    its first write together with the others (False when one decided without writing)."""
    gate = _Gate(parties=len(calls))

    def before_execute(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith(WRITES):
            gate.arrive(writing=True)

    outcomes = [Outcome() for _ in calls]

    def run(index: int) -> None:
        gate.local.racing = True
        try:
            outcomes[index].value = calls[index]()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcomes[index].error = error
        finally:
            gate.arrive(writing=False)  # a call that never wrote must not hold the others back

    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in threads), "a racing call did not finish"
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
    return outcomes, gate.writers == len(calls)
