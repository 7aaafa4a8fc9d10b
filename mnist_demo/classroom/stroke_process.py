"""A process of its own that answers the Draw tab's strokes (with the shipped model).

Why: Python runs one thread of a process at a time (the Global Interpreter Lock, GIL).
In the server, a stroke's ~4 ms of Python is cut into ~40 pieces by the calls that let go
of the lock (torch operations, PNG decoding), and under a class's load it waited for the
lock before each piece: Gradio's own request handling, the Train tab and training held it
about half the time. This process has a GIL of its own. It shares most of its memory
with the server (a fork); docs/performance.md has the figures.

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
        self._connected = None  # a task that opens the socket on the server's event loop
        self._reader_task = None  # the task that reads the answers
        self._writer = None
        self._waiting = collections.deque()  # one future per stroke sent and not yet answered
        self.alive = True

    async def ask(self, canvas):
        """`answer(canvas)`, computed in the process. Raises `StrokeProcessGone`."""
        if not self.alive:
            raise StrokeProcessGone("the stroke process has stopped")
        try:
            sent = message(canvas)
        except Exception as error:  # noqa: BLE001 (not a drawing the pipe can carry)
            raise StrokeProcessGone(f"this canvas cannot be sent ({error})") from error
        loop = asyncio.get_running_loop()
        if self._connected is None:  # the first stroke connects, on the server's event loop
            self._connected = loop.create_task(self._connect())
        if self._connected.get_loop() is not loop:
            raise StrokeProcessGone("the stroke process serves another event loop")
        answer = None
        try:
            # shield: a first stroke cancelled while connecting does not cancel the connection
            await asyncio.shield(self._connected)
            if not self.alive:
                raise StrokeProcessGone("the stroke process has stopped")
            answer = loop.create_future()
            self._waiting.append(answer)
            self._writer.write(sent)
            await self._writer.drain()  # waits only while over 64 KiB wait to be sent
            # A stroke Gradio cancels keeps its place in _waiting: the answers stay in order.
            failed, value = await asyncio.wait_for(answer, ANSWER_TIMEOUT)
        except (OSError, TimeoutError) as error:
            if answer is not None:
                answer.cancel()  # this stroke is told below, not through its future
            why = f"{type(error).__name__}: {error}"  # a timeout's own message is empty
            self.stop(why)
            raise StrokeProcessGone(f"the stroke process has stopped ({why})") from error
        finally:
            if answer is not None and not answer.done():  # cancelled before its answer
                answer.cancel()
        if failed:  # `answer` raised: the caller answers again, and sees the real error
            raise StrokeProcessGone(value)
        return value

    async def _connect(self) -> None:
        reader, self._writer = await asyncio.open_connection(sock=self._socket)
        self._reader_task = asyncio.get_running_loop().create_task(self._read_answers(reader))

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        """Give each answer to the stroke that waits for it: the oldest one."""
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                answer = pickle.loads(await reader.readexactly(size))
                if not self.alive:
                    return
                waiting = self._waiting.popleft()
                if not waiting.done():  # not cancelled
                    waiting.set_result(answer)
        except Exception as error:  # noqa: BLE001 (closed, cut or garbled: stop, never hang)
            self.stop(f"its answers cannot be read ({type(error).__name__}: {error})")

    def stop(self, why: str) -> None:
        """Stop the process; strokes still waiting raise StrokeProcessGone (and are answered
        elsewhere)."""
        if not self.alive:
            return
        self.alive = False
        self._process.kill()
        # Blocks the event loop: milliseconds after a kill, at most 1 s if the kernel is stuck.
        self._process.join(timeout=1)
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.close()
        else:
            self._socket.close()
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
                reply = message((False, answer(canvas)))  # pickled here: it may fail too
            except Exception as error:  # noqa: BLE001 (reported to the server, which retries)
                reply = message((True, f"{type(error).__name__}: {error}"))
            stream.write(reply)
            stream.flush()
