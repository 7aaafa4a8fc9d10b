"""Presses of Train past the class's bound are refused at the door, before Gradio's queue;
every other request (a stroke, a page) passes with its body intact."""

import asyncio
import json

import httpx

from mnist_demo.classroom.admission import TrainAdmission
from mnist_demo.classroom.run_queue import RunQueue

TRAIN_FN = 7


async def echo(scope, receive, send):
    """A stand-in app: answers 200 with the body it was given."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def post_all(queue: RunQueue, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    door = TrainAdmission(echo, queue, api_names={"train"}, fn_indices={TRAIN_FN})

    async def run():
        transport = httpx.ASGITransport(app=door)
        async with httpx.AsyncClient(transport=transport, base_url="http://class") as client:
            return [await client.post(path, json=body) for path, body in requests]

    return asyncio.run(run())


def test_presses_past_the_bound_are_refused_and_strokes_pass():
    queue = RunQueue(max_waiting=2)
    press = ("/gradio_api/call/train", {"data": ["adam"], "session_hash": "a"})
    join_press = ("/gradio_api/queue/join", {"fn_index": TRAIN_FN, "data": [], "session_hash": "b"})
    stroke = ("/gradio_api/queue/join", {"fn_index": 3, "data": ["x" * 5000], "session_hash": "c"})
    answers = post_all(queue, [press, join_press, press, join_press, stroke, stroke])
    assert [a.status_code for a in answers] == [200, 200, 429, 429, 200, 200]
    assert "training queue is full" in answers[2].json()["detail"]
    assert json.loads(answers[4].content) == stroke[1]  # the body reaches the app intact


def test_a_press_that_joined_makes_room_for_none_until_it_leaves():
    queue = RunQueue(max_waiting=1)
    assert queue.admit() and not queue.admit()
    ticket = queue.join(object(), lambda: 1.0)  # the admitted press arrived
    assert not queue.admit()  # its ticket holds the place now
    queue.leave(ticket)
    assert queue.admit()
