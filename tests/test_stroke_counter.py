"""Strokes first: training steps wait while a stroke is being answered."""

import threading
import time

from mnist_demo import training_session as ts
from mnist_demo.stroke_counter import STROKES, StrokeCounter
from mnist_demo.training_session import FINISHED, RunRequest, apply_caps

from conftest import blobs

LONG = 30.0  # a timeout no test may reach: returning well before it means "not timed out"


def returns_before_timeout(wait) -> bool:
    """Calls `wait(LONG)`; True if it returned True and long before LONG seconds."""
    start = time.monotonic()
    answer = wait(LONG)
    return answer is True and time.monotonic() - start < LONG / 2


def test_nobody_drawing_means_no_wait():
    assert returns_before_timeout(StrokeCounter().wait_for_none)


def test_a_stroke_being_answered_makes_training_wait_but_never_for_ever():
    strokes = StrokeCounter()
    with strokes.answering(), strokes.answering():  # two students at once
        assert strokes.wait_for_none(timeout=0.01) is False
        with strokes.answering():
            pass
        assert strokes.wait_for_none(timeout=0.01) is False  # one of the two is still going
    assert returns_before_timeout(strokes.wait_for_none)


def test_the_wait_ends_when_the_last_stroke_is_answered():
    strokes = StrokeCounter()
    answering, answered = threading.Event(), threading.Event()

    def student():
        with strokes.answering():
            answering.set()
            answered.wait()

    thread = threading.Thread(target=student)
    thread.start()
    answering.wait()
    threading.Timer(0.05, answered.set).start()
    assert returns_before_timeout(strokes.wait_for_none)  # woken by the last stroke's end
    thread.join()


def test_a_stroke_that_fails_still_counts_as_answered():
    strokes = StrokeCounter()
    try:
        with strokes.answering():
            raise ValueError("not an image")
    except ValueError:
        pass
    assert returns_before_timeout(strokes.wait_for_none)


def test_a_run_gives_way_to_strokes_between_its_steps(monkeypatch):
    waits = []
    monkeypatch.setattr(STROKES, "wait_for_none", lambda: waits.append(threading.current_thread()))
    request, notes = apply_caps(RunRequest(unit="steps", amount=5))
    record = ts.start_run({}, request, notes)
    list(ts.run_training(record, ts.initial_model(request), blobs(), blobs(100)))
    assert record.status == FINISHED
    assert len(waits) == 4  # between every two of the 5 steps
    assert all(thread is not threading.current_thread() for thread in waits)  # the run's thread


def test_the_draw_tab_counts_a_stroke_while_it_answers_it(monkeypatch):
    import gradio as gr

    from mnist_demo.ui import draw_tab

    seen, nothing_drawn = [], draw_tab.empty_outputs()

    def classify_and_look(canvas, session):
        seen.append(STROKES.wait_for_none(timeout=0.001))  # a run would wait now
        return nothing_drawn

    with gr.Blocks() as demo:
        draw_tab.build_draw_tab(gr.State({}))
    stroke = next(fn for fn in demo.fns.values() if fn.api_name == "predict")
    monkeypatch.setattr(draw_tab, "classify_drawing", classify_and_look)
    stroke.fn("", {})
    assert seen == [False]
    assert returns_before_timeout(STROKES.wait_for_none)  # none left once answered
