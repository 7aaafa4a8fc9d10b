"""The class's training queue: runs wait here, not in Gradio's queue, so drawing never waits.

Gradio's queue has one size limit for every event together: runs piling up there would
refuse the strokes of everyone else. So the Train event is not queued by Gradio at all; it
waits here instead, where a student has at most one press waiting or training, the whole
class at most `MAX_WAITING`, and one run trains at a time. Every waiting student can be told
how many runs are ahead and about how long they will take.

    ticket = run_queue.join(session, seconds=lambda: 12.0)   # QueueFull / AlreadyQueued
    while not run_queue.has_turn(ticket):                     # asked about once a second
        ahead, wait = run_queue.ahead(ticket)                 # "2 runs ahead of you, ~20 s"
    ...train...
    run_queue.leave(ticket)

A ticket nobody has asked about for `GONE_AFTER` seconds belongs to a browser that has gone
(Gradio stops a closed page's event): it is dropped, and the runs behind move up.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mnist_demo.classroom.runs import RunRecord, expected_seconds
from mnist_demo.train import TrainConfig

MAX_WAITING = 30  # presses waiting or training in the whole class
TRAINING_AT_ONCE = 1  # more made both drawing and training slower on 2 cores
GONE_AFTER = 10.0  # seconds without a look at a ticket: its page has gone
STEADY_SECONDS = 5.0  # a countdown shown does not go up by less than this
ARRIVING_FOR = 10.0  # seconds a press let in at the door (admission.py) may take to join


class QueueRefused(ValueError):
    """A press the queue cannot take; the message says why, for the student."""


@dataclass(eq=False)
class Ticket:
    """One press of Train: its owner (a student session) and how long it still needs."""

    owner: object
    seconds_left: Callable[[], float]  # estimated seconds of training this press still needs
    joined: float = 0.0
    last_seen: float = 0.0
    dropped: bool = False  # taken out of the queue: its page had gone


@dataclass(eq=False)
class RunQueue:
    """First come, first served; safe to use from the event loop and from threads."""

    max_waiting: int = MAX_WAITING
    at_once: int = TRAINING_AT_ONCE
    gone_after: float = GONE_AFTER
    clock: Callable[[], float] = time.monotonic
    tickets: list[Ticket] = field(default_factory=list)
    arriving: list[float] = field(default_factory=list)  # when presses were let in
    samples_per_second: float = 20_000.0  # the last run's speed, for the estimates
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self) -> bool:
        """Whether one more press may come in (at the door, before Gradio's queue)."""
        with self.lock:
            self._drop_gone()
            now = self.clock()
            self.arriving[:] = [t for t in self.arriving if now - t < ARRIVING_FOR]
            if len(self.tickets) + len(self.arriving) >= self.max_waiting:
                return False
            self.arriving.append(now)
            return True

    def full_message(self) -> str:
        return (
            f"The class's training queue is full ({self.max_waiting} runs waiting): "
            f"try again in a minute. Drawing works as before."
        )

    def join(self, owner, seconds_left: Callable[[], float]) -> Ticket:
        """A place at the back; raises `QueueRefused` if the owner has one or the queue is full."""
        with self.lock:
            self._drop_gone()
            if self.arriving:
                self.arriving.pop(0)  # this press came in at the door: it has arrived
            if any(ticket.owner is owner for ticket in self.tickets):
                raise QueueRefused(
                    "Your run is already in the queue: it starts when its turn comes "
                    "(press Stop to take it out)."
                )
            if len(self.tickets) >= self.max_waiting:
                raise QueueRefused(self.full_message())
            now = self.clock()
            ticket = Ticket(owner, seconds_left, joined=now, last_seen=now)
            self.tickets.append(ticket)
            return ticket

    def has_turn(self, ticket: Ticket) -> bool:
        """Whether this ticket may train now; asking also says its page is still there."""
        with self.lock:
            ticket.last_seen = self.clock()
            self._drop_gone()
            return ticket in self.tickets[: self.at_once]

    def ahead(self, ticket: Ticket) -> tuple[int, float]:
        """(runs ahead of this ticket, estimated seconds until its turn)."""
        with self.lock:
            if ticket not in self.tickets:
                return 0, 0.0
            before = self.tickets[: self.tickets.index(ticket)]
        # With one run at a time, the wait is what every run ahead still needs.
        seconds = sum(max(0.0, other.seconds_left()) for other in before) / self.at_once
        return len(before), seconds

    def leave(self, ticket: Ticket) -> None:
        with self.lock:
            if ticket in self.tickets:
                self.tickets.remove(ticket)

    def __len__(self) -> int:
        with self.lock:
            return len(self.tickets)

    def _drop_gone(self) -> None:
        """Drop the tickets whose page stopped asking (call with the lock held)."""
        now = self.clock()
        for ticket in [t for t in self.tickets if now - t.last_seen > self.gone_after]:
            ticket.dropped = True
            self.tickets.remove(ticket)


class RunPlan:
    """The runs of one press (a comparison trains three), and how long they still need."""

    def __init__(self, configs: list[TrainConfig], queue: RunQueue):
        self.waiting, self.current, self.queue = configs, None, queue

    def start(self, record: RunRecord) -> RunRecord:
        self.waiting.pop(0)
        self.current = record
        return record

    def seconds_left(self) -> float:
        now = self.current.seconds_left() if self.current is not None else 0.0
        speed = self.queue.samples_per_second
        return now + sum(expected_seconds(config, speed) for config in self.waiting)


def steady_wait(shown: tuple[int, float], now: tuple[int, float]) -> tuple[int, float]:
    """The (runs ahead, seconds) to show: the new estimate, except that it does not tick up
    by a few seconds when the run ahead slows for a moment (it only gets spare CPU time)."""
    (ahead_before, before), (ahead, seconds) = shown, now
    if ahead == ahead_before and before < seconds < before + STEADY_SECONDS:
        return shown
    return now


RUN_QUEUE = RunQueue()  # the class's: one per server process (train_tab.py and admission.py)


def waiting_text(ahead: int, seconds: float) -> str:
    """What a waiting student reads next to the Train button."""
    runs = "1 run" if ahead == 1 else f"{ahead} runs"
    if ahead == 0:
        return "Your run is next: it starts in a moment."
    return f"**Queued:** {runs} ahead of you, about {max(1, round(seconds))} s."
