"""How the process is set up before a class arrives; each setting's figures are in
docs/performance.md.

    strokes = prepare_to_serve(answer_stroke)   # then launch with launch_options()
"""

import contextlib
import functools
import gc
import os
from collections.abc import Callable

import torch
from PIL import Image
from starlette.middleware import Middleware

from mnist_demo.classroom.admission import TrainAdmission
from mnist_demo.classroom.limits import BodyLimit
from mnist_demo.classroom.run_queue import RUN_QUEUE
from mnist_demo.classroom.sessions import (
    SESSION_CAPACITY,
    expiring_sessions,
    limit_malloc_arenas,
)
from mnist_demo.classroom.stroke_process import StrokeProcess
from mnist_demo.data import MNISTNotFoundError, shared_data
from mnist_demo.predict import shipped_model

# Gradio's queue rebuilds a table of past events after every event, for a monitoring page
# we turn off: rarely and over fewer events. Read when the queue is created.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

# An upload's size limit bounds its bytes, not its pixels; PIL refuses images over twice
# this many pixels before decoding them (drawings sent to the API included).
Image.MAX_IMAGE_PIXELS = 4000 * 4000

# Young garbage collections every 20,000 allocations (Python's default: 700), so that the
# full ones, which pause the whole server, become rare.
GC_THRESHOLD = (20_000, 10, 10)


def prepare_to_serve(answer_stroke: Callable[[object], object]) -> StrokeProcess:
    """Read MNIST and the shipped model now, tune the garbage collector, then fork the
    process that calls `answer_stroke(canvas)` for every stroke (returned).

    Reading MNIST holds Python's lock for about 2 s: done now, not in the first student's
    run. One torch thread per request: parallel requests do not fight over the two cores.
    Two glibc heaps for all threads: freed memory is not kept spread over many.
    """
    limit_malloc_arenas()
    torch.set_num_threads(1)
    with contextlib.suppress(MNISTNotFoundError):  # the Train tab will say what to do
        shared_data()
    shipped_model()  # loaded before the fork, so the stroke process has it too
    gc.collect()
    gc.freeze()  # what is loaded now is never walked by a collection again
    gc.set_threshold(*GC_THRESHOLD)
    return StrokeProcess(answer_stroke)  # forked last: its memory stays shared with ours


def launch_options(prepare_app: Callable[[object], None] | None = None) -> dict:
    """Safe defaults for a public Space: no uploads and no big requests (classroom/limits.py),
    idle sessions expire and old files go (classroom/sessions.py), no monitoring page.

    `prepare_app(app)` is called with Gradio's FastAPI app before it serves."""
    lifespan = functools.partial(expiring_sessions, prepare=prepare_app)
    return {
        "max_file_size": "2mb",  # uploads are refused anyway: BodyLimit
        "enable_monitoring": False,
        "ssr_mode": False,
        "footer_links": ["api", "gradio"],
        "state_session_capacity": SESSION_CAPACITY,
        # Gradio's page keeps every event (a drawing, ~15 KB) in localStorage, up to 100,
        # and re-reads and re-writes them all on every stroke: the page slowed with use.
        "run_history": False,
        # Big bodies refused before they are read; presses of Train past the class's bound
        # refused before Gradio's queue (the first middleware is the outermost).
        "app_kwargs": {
            "middleware": [
                Middleware(BodyLimit),
                Middleware(TrainAdmission, run_queue=RUN_QUEUE, api_names={"train"}),
            ],
            "lifespan": lifespan,
        },
    }
