"""Drawing comes first: training steps wait while a stroke is being answered."""

import threading

from mnist_demo import training_session as ts
from mnist_demo.drawing_first import DRAWING, DrawingFirst
from mnist_demo.training_session import FINISHED, RunRequest, apply_caps

from conftest import blobs


def test_nobody_drawing_means_no_wait():
    assert DrawingFirst().wait_until_quiet(timeout=10) is True  # at once, not after 10 s


def test_a_stroke_being_answered_makes_training_wait_but_never_for_ever():
    drawing_first = DrawingFirst()
    with drawing_first.answering(), drawing_first.answering():  # two students at once
        assert drawing_first.wait_until_quiet(timeout=0.01) is False
    assert drawing_first.wait_until_quiet(timeout=0.01) is True


def test_the_wait_ends_when_the_last_stroke_is_answered():
    drawing_first = DrawingFirst()
    answering, answered = threading.Event(), threading.Event()

    def student():
        with drawing_first.answering():
            answering.set()
            answered.wait()

    thread = threading.Thread(target=student)
    thread.start()
    answering.wait()
    threading.Timer(0.05, answered.set).start()
    assert drawing_first.wait_until_quiet(timeout=30) is True  # woken, not timed out
    thread.join()


def test_a_stroke_that_fails_still_counts_as_answered():
    drawing_first = DrawingFirst()
    try:
        with drawing_first.answering():
            raise ValueError("not an image")
    except ValueError:
        pass
    assert drawing_first.wait_until_quiet(timeout=0.01) is True


def test_a_run_gives_way_to_strokes_between_its_steps(monkeypatch):
    waits = []
    monkeypatch.setattr(
        DRAWING, "wait_until_quiet", lambda: waits.append(threading.current_thread())
    )
    request, notes = apply_caps(RunRequest(unit="steps", amount=5))
    record = ts.start_run({}, request, notes)
    list(ts.run_training(record, ts.initial_model(request), blobs(), blobs(100)))
    assert record.status == FINISHED
    assert len(waits) == 4  # between every two of the 5 steps
    assert all(thread is not threading.current_thread() for thread in waits)  # the run's thread


def test_the_draw_tab_says_it_is_answering_while_it_answers(monkeypatch):
    import gradio as gr

    from mnist_demo.ui import draw_tab

    seen, nothing_drawn = [], draw_tab.empty_outputs()

    def classify_and_look(canvas, session):
        seen.append(DRAWING.wait_until_quiet(timeout=0.001))  # a run would wait now
        return nothing_drawn

    with gr.Blocks() as demo:
        draw_tab.build_draw_tab(gr.State({}))
    stroke = next(fn for fn in demo.fns.values() if fn.api_name == "predict")
    monkeypatch.setattr(draw_tab, "classify_drawing", classify_and_look)
    stroke.fn("", {})
    assert seen == [False]
    assert DRAWING.wait_until_quiet(timeout=0.001) is True  # and quiet once answered
