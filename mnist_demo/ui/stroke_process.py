"""A process of its own that answers the Draw tab's strokes (with the shipped model).

Why: Python runs one thread of a process at a time (the Global Interpreter Lock, GIL).
In the server, a stroke's ~4 ms of Python is cut into ~40 pieces by the calls that let go
of the lock (torch operations, PNG decoding), and under a class's load it waited for the
lock before each piece: Gradio's own request handling, the Train tab and training held it
about half the time. This process has a GIL of its own. The two processes use ~1.2 GB
together (PSS), about 0.1 GB more than the server alone.

    strokes = StrokeProcess(answer)   # forks now: call it before the server starts
    await strokes.ask(canvas)         # answer(canvas), computed in the process

The server's side is a coroutine on Gradio's event loop, so no worker thread waits for the
GIL to hand a canvas over or take an answer back. Strokes are sent as they come, without
waiting for the answer before: the process always has the next canvas ready and answers
them in the order they were sent, one at a time.

The process is a fork of the server, so it starts with everything the server has loaded
(the shipped model, the components). If it dies or hangs, `ask` raises `StrokeProcessGone`
from then on, and the caller answers in its own process: slower under load, never wrong.
"""

import asyncio
import collections
import multiprocessing
import os
import pickle
import signal
import socket
import struct
from collections.abc import Callable

ANSWER_TIMEOUT = 10.0  # seconds; a stroke takes ~2-4 ms, so a process this slow is stuck
HEADER = struct.Struct("!Q")  # each message: its length in bytes, then the pickled value


class StrokeProcessGone(RuntimeError):
    """The process cannot answer (it died, hung, or `answer` raised): answer elsewhere."""


class StrokeProcess:
    """One process that calls `answer(canvas)` for each stroke, in the order they are sent."""

    def __init__(self, answer: Callable[[object], object]):
        self._socket, theirs = socket.socketpair()
        fork = multiprocessing.get_context("fork")
        self._process = fork.Process(
            target=_answer_strokes, args=(answer, theirs), name="strokes", daemon=True
        )
        self._process.start()
        theirs.close()
        self._streams = None  # (reader, writer) on the server's event loop, from the first ask
        self._waiting = collections.deque()  # one future per stroke sent and not yet answered
        self.alive = True

    async def ask(self, canvas):
        """`answer(canvas)`, computed in the process. Raises `StrokeProcessGone`."""
        if not self.alive:
            raise StrokeProcessGone("the stroke process has stopped")
        if self._streams is None:  # the first stroke: connect on the server's event loop
            self._streams = asyncio.ensure_future(self._connect())
        _, writer = await self._streams
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append(answer)
        try:
            writer.write(message(canvas))
            await writer.drain()  # waits only while the socket's buffer is full
            # A stroke Gradio cancels here keeps its place in _waiting: answers stay in order.
            failed, value = await asyncio.wait_for(answer, ANSWER_TIMEOUT)
        except (OSError, TimeoutError) as error:
            self.stop(f"{type(error).__name__} {error}")
            raise StrokeProcessGone(f"the stroke process has stopped ({error})") from error
        if failed:  # `answer` raised: the caller answers again, and sees the real error
            raise StrokeProcessGone(value)
        return value

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(sock=self._socket)
        asyncio.get_running_loop().create_task(self._read_answers(reader))
        return reader, writer

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        """Give each answer to the stroke that waits for it: the oldest one."""
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                answer = pickle.loads(await reader.readexactly(size))
                if not self.alive:
                    return
                waiting = self._waiting.popleft()
                if not waiting.done():
                    waiting.set_result(answer)
        except (OSError, asyncio.IncompleteReadError) as error:
            self.stop(f"it closed its end ({error})")

    def stop(self, why: str) -> None:
        """Stop the process; strokes still waiting raise StrokeProcessGone (and are answered
        elsewhere)."""
        if not self.alive:
            return
        self.alive = False
        self._process.kill()
        self._process.join()
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                waiting.set_exception(StrokeProcessGone(f"the stroke process has stopped: {why}"))


def message(value) -> bytes:
    """`value` as one message: its pickle, after the pickle's length."""
    data = pickle.dumps(value)
    return HEADER.pack(len(data)) + data


def _answer_strokes(answer: Callable[[object], object], connection: socket.socket) -> None:
    """The process: answer every canvas that comes in, until the server closes its end."""
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the server; it ends us
    # A fork keeps copies of every file the server had open, pipes to other programs
    # included (a test's browser driver waited for one to close). Keep only our socket.
    os.closerange(3, connection.fileno())
    os.closerange(connection.fileno() + 1, os.sysconf("SC_OPEN_MAX"))
    with connection.makefile("rwb") as stream:
        while True:
            header = stream.read(HEADER.size)
            if len(header) < HEADER.size:  # the server has gone
                return
            (size,) = HEADER.unpack(header)
            canvas = pickle.loads(stream.read(size))
            try:
                reply = (False, answer(canvas))
            except Exception as error:  # noqa: BLE001 (reported to the server, which retries)
                reply = (True, f"{type(error).__name__}: {error}")
            stream.write(message(reply))
            stream.flush()
