"""Strokes answered in a process of their own: the same answers, errors and fallbacks."""

import asyncio
import os
import signal
import time

import gradio as gr
import pytest

from mnist_demo.classroom import stroke_process
from mnist_demo.classroom.runs import StudentSession
from mnist_demo.classroom.stroke_process import StrokeProcess, StrokeProcessGone
from mnist_demo.model import make_model
from mnist_demo.ui.draw_tab import build_draw_tab
from mnist_demo.ui.strokes import ProcessAnswer

from drawings import CENTERED, canvas_data_url, draw_layer

SEVEN = canvas_data_url(draw_layer(7, CENTERED))
DAMAGED = SEVEN[:-200]  # a cut PNG


@pytest.fixture
def run():
    """Runs a coroutine on one event loop for the whole test, as Gradio's server does."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.run_until_complete(asyncio.sleep(0.01))  # the stopped processes' tasks end
    loop.close()


@pytest.fixture
def stroke(run):
    """(the Draw tab's stroke handler, answering with the process; the same handler answering
    in the server)."""
    with gr.Blocks():
        handler = build_draw_tab(gr.State(None)).handler
    handler.process = StrokeProcess(handler.answer_in_process)  # as prepare_to_serve does

    def in_the_process(canvas, session):
        return run(handler.answer_stroke(canvas, session))

    def in_the_server(canvas, session):
        process, handler.process = handler.process, None
        try:
            return run(handler.answer_stroke(canvas, session))
        finally:
            handler.process = process

    yield in_the_process, in_the_server, handler.process
    handler.process.stop("the test is over")


def record_asks(process: StrokeProcess, monkeypatch) -> list:
    """What the handler sends the process, in order (each request is still answered)."""
    asked = []
    real_ask = process.ask

    async def counting_ask(request):
        asked.append(request)
        return await real_ask(request)

    monkeypatch.setattr(process, "ask", counting_ask)
    return asked


def test_the_process_answers_as_the_server_would(stroke, monkeypatch, run):
    handler, in_the_server, process = stroke
    real_ask = process.ask
    asked = record_asks(process, monkeypatch)
    session = StudentSession()
    for canvas in (SEVEN, ""):
        assert handler(canvas, session) == in_the_server(canvas, session)
    # both were sent to the process, with (the digit meant, the open panels)...
    assert asked == [(SEVEN, (None, ())), ("", (None, ()))]
    answer = run(real_ask((SEVEN, (None, ()))))  # ...and it answers
    assert answer == ProcessAnswer(outputs=in_the_server(SEVEN, session))
    assert "The network says **7**" in handler(SEVEN, session)[0]


def test_a_stroke_for_the_process_needs_no_worker_thread(stroke, monkeypatch):
    """The handler awaits the process on Gradio's event loop: no thread waits for the GIL.
    (Gradio's worker threads are anyio's; a stray executor would not be seen here.)"""
    import anyio.to_thread

    handler, in_the_server, _ = stroke
    expected = in_the_server(SEVEN, StudentSession())  # this one does use a worker thread

    async def no_worker_thread(function, *args, **kwargs):
        pytest.fail(f"{function.__name__} was handed to a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_worker_thread)
    assert handler(SEVEN, StudentSession()) == expected


def test_a_bad_drawing_gets_the_same_message(stroke, run):
    handler, in_the_server, process = stroke
    with pytest.raises(gr.Error) as from_process:
        handler(DAMAGED, StudentSession())
    with pytest.raises(gr.Error) as from_server:
        in_the_server(DAMAGED, StudentSession())
    assert from_process.value.message == from_server.value.message
    assert run(process.ask((DAMAGED, (None, ())))) == ProcessAnswer(error=from_server.value.message)


def test_a_students_own_model_answers_in_the_server(stroke, monkeypatch):
    handler, in_the_server, process = stroke

    async def must_not_ask(canvas):
        pytest.fail("the stroke process was asked")

    monkeypatch.setattr(process, "ask", must_not_ask)
    own = StudentSession(draw_model=make_model(seed=0))
    assert handler(SEVEN, own) == in_the_server(SEVEN, own)


def test_strokes_are_still_answered_after_the_process_dies(stroke):
    handler, in_the_server, process = stroke
    session = StudentSession()
    assert handler(SEVEN, session) == in_the_server(SEVEN, session)  # connected, then killed
    os.kill(process._process.pid, signal.SIGKILL)
    process._process.join()
    start = time.perf_counter()
    assert handler(SEVEN, session) == in_the_server(SEVEN, session)
    assert time.perf_counter() - start < 2  # the death is seen at once, not after a timeout
    assert process.alive is False


def double(number):
    """A stand-in for the Draw tab's answer: quick, except for "slow"; None raises, and
    "unpicklable" gets an answer that cannot be pickled."""
    if number is None:
        raise KeyError("no canvas")
    if number == "slow":
        time.sleep(0.2)
    if number == "unpicklable":
        return lambda: number
    return number * 2


@pytest.fixture
def doubler(run):  # stopped before `run` closes its loop
    strokes = StrokeProcess(double)
    yield strokes
    strokes.stop("the test is over")


def test_an_answer_that_raises_leaves_the_process_answering(doubler, run):
    with pytest.raises(StrokeProcessGone, match="KeyError"):
        run(doubler.ask(None))
    assert run(doubler.ask(21)) == 42 and doubler.alive


def test_what_cannot_go_through_the_socket_is_answered_elsewhere(doubler, run):
    with pytest.raises(StrokeProcessGone, match="cannot be sent"):
        run(doubler.ask(lambda: None))  # not even sent
    with pytest.raises(StrokeProcessGone, match="pickle"):
        run(doubler.ask("unpicklable"))  # its answer cannot come back
    assert run(doubler.ask(3)) == 6 and doubler.alive


def test_strokes_sent_together_each_get_their_own_answer(doubler, run):
    async def many():
        return await asyncio.gather(*(doubler.ask(number) for number in range(200)))

    assert run(many()) == [2 * number for number in range(200)]


def test_a_stroke_cancelled_while_connecting_does_not_stop_the_others(doubler, run):
    async def cancel_the_first():
        first = asyncio.ensure_future(doubler.ask(1))
        await asyncio.sleep(0)  # the first stroke now waits for the connection
        first.cancel()  # as Gradio does when a student's browser goes away
        return await doubler.ask(2)

    assert run(cancel_the_first()) == 4 and doubler.alive


def test_a_cancelled_stroke_does_not_shift_the_answers_after_it(doubler, run):
    async def cancel_one_then_ask():
        slow = asyncio.ensure_future(doubler.ask("slow"))
        await asyncio.sleep(0.05)  # sent, and the process is working on it
        slow.cancel()  # as Gradio does when a student's browser goes away
        return await asyncio.gather(doubler.ask(1), doubler.ask(2))

    assert run(cancel_one_then_ask()) == [2, 4]


def test_a_hung_process_is_stopped_and_asked_no_more(doubler, run, monkeypatch):
    monkeypatch.setattr(stroke_process, "ANSWER_TIMEOUT", 0.05)
    with pytest.raises(StrokeProcessGone, match="stopped"):
        run(doubler.ask("slow"))
    assert not doubler.alive and not doubler._process.is_alive()
    assert doubler._writer.is_closing()  # the socket closes, the reader task is cancelled
    run(asyncio.sleep(0))
    assert doubler._reader_task.done()
    with pytest.raises(StrokeProcessGone, match="stopped"):
        run(doubler.ask(1))


def test_the_digit_meant_reaches_the_process(stroke, monkeypatch):
    handler, in_the_server, process = stroke
    asked = record_asks(process, monkeypatch)
    session = StudentSession(meant=3, panels={"why"})
    answer = handler(SEVEN, session)
    assert asked == [(SEVEN, (3, ("why",)))]
    assert answer == in_the_server(SEVEN, session)
    assert "You meant 3" in answer[4]  # the loss panel, computed in the process
    assert "logit of 3" in answer[6] and answer[7] == ""  # "why" is open, "inside" closed
