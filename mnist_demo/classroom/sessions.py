"""Memory with a ceiling: idle sessions expire, and what they held goes with them.

Gradio keeps every session it has seen (up to 10,000): a copy of the page's component
settings (~200 kB) and the session's `gr.State` values (a student's runs and models, a few
MB each). Its own `time_to_live` counts from the last time a handler *returned* the state,
so a session that only draws is never dropped, and one that trained and then drew for a
while would be. Here a session expires when no event has used it for `IDLE_SECONDS`:

    App(lifespan=expiring_sessions)     # through launch(app_kwargs=...): classroom/server.py

Every `SWEEP_SECONDS` the sweep drops the idle sessions from Gradio's `StateHolder` (an
`app.state_holder` of the running server), lets go of what their state values hold, runs a full garbage collection and hands freed memory back to the system
(`malloc_trim`). A session with a run training or an event waiting is never dropped.
Finished runs' models kept in all sessions together stay within MODEL_BUDGET_BYTES. The
same task removes old files, at start and every few minutes (classroom/leftovers.py).
"""

import asyncio
import contextlib
import ctypes
import datetime
import gc
import os
import time
import traceback
from collections.abc import Callable

from mnist_demo.classroom.leftovers import remove_old_downloads, remove_old_files
from mnist_demo.classroom.runs import RUNNING, StudentSession

IDLE_ENV = "MNIST_SESSION_IDLE_SECONDS"  # seconds; set it to try expiry in a minute
IDLE_SECONDS = float(os.environ.get(IDLE_ENV, 20 * 60))  # a lesson's pause, not a day
SWEEP_SECONDS = min(30.0, IDLE_SECONDS / 4)  # how often idle sessions are looked for
# Most students a class has at once, 10x over; past it Gradio drops the least recently
# used session (its default, 10,000 sessions, is ~2 GB of component settings alone).
SESSION_CAPACITY = 1000
# The weights of finished runs kept in all sessions together: past this, the oldest runs of
# the least recently active sessions lose theirs (their curves and results stay). One run
# is 0.4 MB at 128 hidden units, 3.3 MB at 1,024 (6.5 MB with its gradients): a script of
# made-up sessions training one-step runs could otherwise keep ~100 runs a minute. With
# 400 MB, 300 such runs at 1,024 hidden units took the server to 1.75-1.87 GB.
MODEL_BUDGET_BYTES = 200 * 1024 * 1024
TIDY_SECONDS = 300.0  # how often old files are looked for
MALLOC_ARENAS = 2  # glibc heaps for all threads (see limit_malloc_arenas)
M_ARENA_MAX = -8  # mallopt's option number, from glibc's malloc.h
CACHE_AGE_SECONDS = 1800.0  # files older than this go (when Gradio's delete_cache is unset)


def is_busy(value) -> bool:
    """A state value whose session must stay: a student's run is still training."""
    return any(record.status == RUNNING for record in getattr(value, "runs", ()))


def close_student_session(session) -> None:
    """Let go of everything a student's session holds: its download folder, its runs and
    their models, its own Draw model and its drawings (also if something still refers to
    the session object itself)."""
    session.end()
    session.runs.clear()
    session.draw_model = None
    session.drawings.clear()
    session.plots_sent.clear()


def expire_idle_sessions(
    holder,
    idle_seconds: float,
    close: Callable[[object], None],
    waiting: Callable[[str], bool] = lambda session_hash: False,
) -> int:
    """Drop the sessions of Gradio's `holder` that no event used for `idle_seconds`; a busy
    one (a run training, or `waiting(session_hash)`: events in the queue) counts as used
    now, so a session's idle time starts when its last event ended. Returns how many went.

    Runs on the server's event loop, where Gradio also adds and looks up sessions, so no
    session is looked up half-removed.
    """
    now = datetime.datetime.now()
    cutoff = now - datetime.timedelta(seconds=idle_seconds)
    expired = 0
    for session_hash, last_used in list(holder.time_last_used.items()):
        state = holder.session_data.get(session_hash)
        values = list(state.state_data.values()) if state is not None else []
        if waiting(session_hash) or any(is_busy(value) for value in values):
            holder.time_last_used[session_hash] = now
            continue
        if last_used > cutoff:
            continue
        holder.session_data.pop(session_hash, None)
        holder.time_last_used.pop(session_hash, None)
        for value in values:
            close(value)
        expired += 1
    return expired


def model_bytes(model) -> int:
    """Bytes of a model's parameters, and of their gradients when it kept them."""
    tensors = [t for p in model.parameters() for t in (p, p.grad) if t is not None]
    return sum(t.numel() * t.element_size() for t in tensors)


def drop_models_over_budget(holder, budget: int) -> int:
    """Finished, evaluated runs' models beyond `budget` bytes in all of `holder`'s sessions
    together: dropped, oldest runs of the least recently active sessions first (Gradio
    keeps its sessions in that order). A model in use in the Draw tab stays. Returns how
    many were dropped."""
    kept = []  # (record, bytes), the first to drop first
    for state in list(holder.session_data.values()):
        for value in list(state.state_data.values()):
            in_draw = getattr(value, "draw_model", None)
            kept += [
                (record, model_bytes(record.model))
                for record in getattr(value, "runs", ())
                if record.model is not None
                and record.result is not None
                and record.model is not in_draw
            ]
    total = sum(size for _, size in kept)
    dropped = 0
    for record, size in kept:
        if total <= budget:
            break
        record.model, total, dropped = None, total - size, dropped + 1
    return dropped


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """At most `arenas` glibc heaps for the process's threads (glibc's default: 8 per core).
    Each worker thread that allocates under contention may get a heap of its own, and freed
    memory stays spread over them: with 2, 300 runs at 1,024 hidden units peaked at 1.59 GB
    instead of 1.87 GB (docs/reliability.md). Call before the server's threads start."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to set
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)


def give_memory_back() -> None:
    """A full garbage collection, then glibc's `malloc_trim`: Python's allocator keeps freed
    memory for reuse, and trimming returns its free pages to the system (RSS goes down)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def waiting_in_queue(app) -> Callable[[str], bool]:
    """session_hash -> whether it has events waiting or running in `app`'s queue."""

    def waiting(session_hash: str) -> bool:
        queue = getattr(app.get_blocks(), "_queue", None)
        pending = getattr(queue, "pending_event_ids_session", {})
        return bool(pending.get(session_hash))

    return waiting


def close_value(value) -> None:
    """What an expired session's state value lets go of (a student's session: everything)."""
    if isinstance(value, StudentSession):
        close_student_session(value)


def tidy_files(app) -> None:
    """Files older than the cache's age limit (Gradio's `delete_cache`) go, from this
    process or an earlier one; the files components keep for the page stay."""
    blocks = app.get_blocks()
    age = (blocks.delete_cache or (None, CACHE_AGE_SECONDS))[1]
    keep = set()
    for block in blocks.blocks.values():
        keep.update(getattr(block, "keep_in_cache", ()))
    remove_old_files(app.uploaded_file_dir, age, keep)
    remove_old_downloads(age)


async def sweep_forever(app) -> None:
    """Every SWEEP_SECONDS: expire idle sessions, keep the runs' models within their budget
    (then free the memory); every TIDY_SECONDS: remove old files."""
    waiting = waiting_in_queue(app)
    tidied = time.monotonic()
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            holder = app.state_holder
            expired = expire_idle_sessions(holder, IDLE_SECONDS, close_value, waiting)
            if expired + drop_models_over_budget(holder, MODEL_BUDGET_BYTES):
                await asyncio.to_thread(give_memory_back)
            if time.monotonic() - tidied >= TIDY_SECONDS:
                tidied = time.monotonic()
                await asyncio.to_thread(tidy_files, app)
        except Exception:  # noqa: BLE001 (logged; the next sweep tries again)
            traceback.print_exc()


@contextlib.asynccontextmanager
async def expiring_sessions(app, prepare: Callable[[object], None] | None = None):
    """A FastAPI lifespan (`App(lifespan=expiring_sessions)`): `prepare(app)` and files left
    by an earlier process removed at start, then the sweep runs until the server stops."""
    if prepare is not None:
        prepare(app)
    await asyncio.to_thread(tidy_files, app)
    task = asyncio.get_running_loop().create_task(sweep_forever(app))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
