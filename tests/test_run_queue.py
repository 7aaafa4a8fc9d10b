"""The class's training queue: one press per student, a bound, first come first served,
the wait shown, and pages that have gone dropped."""

import pytest

from mnist_demo.classroom.run_queue import QueueRefused, RunQueue, steady_wait, waiting_text


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_come_first_served_one_at_a_time_with_the_wait_ahead():
    queue = RunQueue(clock=Clock())
    alice, bob, carol = object(), object(), object()
    first = queue.join(alice, lambda: 12.0)
    second = queue.join(bob, lambda: 5.0)
    third = queue.join(carol, lambda: 7.0)
    assert queue.has_turn(first) and not queue.has_turn(second)
    assert queue.ahead(first) == (0, 0.0)
    assert queue.ahead(second) == (1, 12.0)
    assert queue.ahead(third) == (2, 17.0)  # what every run ahead still needs
    queue.leave(first)
    assert queue.has_turn(second) and queue.ahead(third) == (1, 5.0)


def test_one_press_per_student_and_a_bound_for_the_class():
    queue = RunQueue(max_waiting=2, clock=Clock())
    alice = object()
    queue.join(alice, lambda: 1.0)
    with pytest.raises(QueueRefused, match="already in the queue"):
        queue.join(alice, lambda: 1.0)
    queue.join(object(), lambda: 1.0)
    with pytest.raises(QueueRefused, match="queue is full"):
        queue.join(object(), lambda: 1.0)
    assert len(queue) == 2


def test_a_ticket_nobody_asks_about_is_dropped_and_the_rest_move_up():
    clock = Clock()
    queue = RunQueue(gone_after=10.0, clock=clock)
    gone, waiting = queue.join(object(), lambda: 30.0), queue.join(object(), lambda: 1.0)
    clock.now = 6.0
    assert not queue.has_turn(waiting)  # asking keeps `waiting` seen
    clock.now = 11.0
    assert queue.has_turn(waiting)  # `gone` was last seen 11 s ago
    assert gone.dropped and len(queue) == 1


def test_the_waiting_text_counts_runs_and_seconds():
    assert waiting_text(2, 19.6) == "**Queued:** 2 runs ahead of you, about 20 s."
    assert "1 run ahead" in waiting_text(1, 0.2) and "about 1 s" in waiting_text(1, 0.2)
    assert "next" in waiting_text(0, 0.0)


def test_the_countdown_holds_through_a_brief_slowdown_and_shows_real_changes():
    assert steady_wait((1, 20.0), (1, 18.0)) == (1, 18.0)  # counts down
    assert steady_wait((1, 18.0), (1, 20.0)) == (1, 18.0)  # a blip: held
    assert steady_wait((1, 18.0), (1, 30.0)) == (1, 30.0)  # a real slowdown
    assert steady_wait((2, 18.0), (1, 19.0)) == (1, 19.0)  # a run ahead left
