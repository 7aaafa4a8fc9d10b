"""Strokes answered in a process of their own: the same answers, errors and fallbacks."""

import os
import signal

import gradio as gr
import pytest

from mnist_demo.model import make_model
from mnist_demo.ui import draw_tab
from mnist_demo.ui.stroke_process import StrokeProcess, StrokeProcessGone

from drawings import CENTERED, canvas_data_url, draw_layer

SEVEN = canvas_data_url(draw_layer(7, CENTERED))
DAMAGED = SEVEN[:-200]  # a cut PNG


@pytest.fixture
def stroke(monkeypatch):
    """(the Draw tab's stroke handler, the same handler answering in the server)."""
    with gr.Blocks() as demo:
        draw_tab.build_draw_tab(gr.State({}))
    handler = next(fn for fn in demo.fns.values() if fn.api_name == "predict").fn
    monkeypatch.setattr(draw_tab, "_stroke_process", None)
    draw_tab.answer_strokes_in_a_process()

    def in_the_server(canvas, session):
        with monkeypatch.context() as patch:
            patch.setattr(draw_tab, "_stroke_process", None)
            return handler(canvas, session)

    return handler, in_the_server


def test_the_process_answers_as_the_server_would(stroke, monkeypatch):
    handler, in_the_server = stroke
    asked = []
    real_ask = draw_tab._stroke_process.ask
    monkeypatch.setattr(draw_tab._stroke_process, "ask", lambda c: asked.append(c) or real_ask(c))
    for canvas in (SEVEN, ""):
        assert handler(canvas, {}) == in_the_server(canvas, {})
    assert asked == [SEVEN, ""]  # both were sent to the process...
    assert draw_tab._stroke_process.ask(SEVEN) == in_the_server(SEVEN, {})  # ...and it answers
    assert "The network says **7**" in handler(SEVEN, {})[0]


def test_a_bad_drawing_gets_the_same_message(stroke):
    handler, in_the_server = stroke
    with pytest.raises(gr.Error) as from_process:
        handler(DAMAGED, {})
    with pytest.raises(gr.Error) as from_server:
        in_the_server(DAMAGED, {})
    assert from_process.value.message == from_server.value.message
    assert draw_tab._stroke_process.ask(DAMAGED) == from_server.value.message  # from the process


def test_a_students_own_model_answers_in_the_server(stroke, monkeypatch):
    handler, in_the_server = stroke
    monkeypatch.setattr(draw_tab._stroke_process, "ask", lambda canvas: pytest.fail("asked"))
    own = {"draw_model": make_model(seed=0)}
    assert handler(SEVEN, own) == in_the_server(SEVEN, own)


def test_strokes_are_still_answered_after_the_process_dies(stroke):
    handler, in_the_server = stroke
    os.kill(draw_tab._stroke_process._process.pid, signal.SIGKILL)
    draw_tab._stroke_process._process.join()
    assert handler(SEVEN, {}) == in_the_server(SEVEN, {})
    assert draw_tab._stroke_process.alive is False


def test_an_answer_that_raises_leaves_the_process_answering():
    def answer(canvas):
        if canvas is None:
            raise KeyError("no canvas")
        return canvas * 2

    strokes = StrokeProcess(answer)
    with pytest.raises(StrokeProcessGone, match="KeyError"):
        strokes.ask(None)
    assert strokes.ask(21) == 42 and strokes.alive
