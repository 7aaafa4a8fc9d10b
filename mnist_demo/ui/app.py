"""The whole app: the tabs composed into one Gradio Blocks, and how it is served.

    from mnist_demo.ui.app import build_demo, launch_options
    build_demo().launch(**launch_options())

Shared things (MNIST tensors, the shipped model) are loaded once per process and only read.
What belongs to one student (the model they trained, their runs) lives in a `gr.State`
made fresh for each browser session by `new_session`.
"""

import contextlib
import gc
import os
import shutil

import gradio as gr
import torch
from PIL import Image

from mnist_demo.data import MNISTNotFoundError
from mnist_demo.training_session import shared_data
from mnist_demo.ui.cross_entropy_tab import build_cross_entropy_tab
from mnist_demo.ui.draw_tab import answer_strokes_in_a_process, build_draw_tab
from mnist_demo.ui.train_tab import build_train_tab

# Gradio's queue rebuilds a pandas table of up to 10,000 past events after every event,
# for its monitoring page (which we turn off): measured at ~10% of the server's CPU under a
# class's load. Recompute it rarely, over fewer events. Read when the queue is created.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

# max_file_size bounds the bytes of an upload, not its pixels: a 2 MB PNG can hold 178
# million pixels. PIL refuses images over twice this limit before decoding them (drawings
# sent to the API included).
Image.MAX_IMAGE_PIXELS = 4000 * 4000

# A student's session (their runs and models) is dropped this long after it started, or an
# hour after its browser tab closed (Gradio's rule), and `end_session` tidies up after it.
SESSION_SECONDS = 8 * 3600  # a school day

# Requests waiting beyond this are refused with "queue full" instead of piling up.
MAX_QUEUE_SIZE = 200

# Uploads (through the API) and each finished run's gallery and weights are files in
# Gradio's cache, never deleted by default. Every CACHE_CLEANUP[0] seconds, files older
# than CACHE_CLEANUP[1] seconds go, so a long school day does not fill the disk.
CACHE_CLEANUP = (600, 1800)

# Python's garbage collector looks for unreachable cycles in "generations". It examines the
# youngest when GC_THRESHOLD[0] more objects have been allocated than freed (default: 700),
# the middle one every 10 of those, and everything every 10 of those. At 60 requests a
# second, objects of requests still in flight outlived the young collections, reached the
# oldest generation, and full collections ran every 10-15 s, each pausing the whole server
# for 36-154 ms, longer as the students' sessions grew (measured with gc.callbacks under
# benchmarks/classroom_load.py: 18 in 3 rounds). With 20,000 they are ~30x rarer (none in
# the same 3 rounds); a young collection took ~8 ms (median), a middle one up to 137 ms
# about once a minute. Rarer, not gone: a full one still walks every session.
GC_THRESHOLD = (20_000, 10, 10)

# Square pixels for the 28x28 preview (the pad has its own CSS, in draw_tab.py).
CSS = """
#draw-seen img { image-rendering: pixelated; }
.big-number { font-size: 2.6rem; font-weight: 700; line-height: 1.1; }
"""


def new_session() -> dict:
    """One student's own things; Gradio calls this once per browser session."""
    return {"draw_model": None, "runs": []}


def end_session(session: dict) -> None:
    """Gradio calls this when a student's session ends: remove their download folder."""
    folder = session.get("export_dir") if isinstance(session, dict) else None
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def ping(drawing: str = "") -> str:
    """A trivial endpoint: what a request costs in Gradio itself, whatever the handler.

    It takes a drawing like /predict does (and ignores it), so the same requests can be
    sent to both (benchmarks/classroom_load.py).
    """
    return "pong"


async def ping_async(drawing: str = "") -> str:
    """/ping as a coroutine: Gradio awaits it on its event loop, with no worker thread, as
    it does the Draw tab's stroke handler. The floor for that kind of handler."""
    return "pong"


def build_demo() -> gr.Blocks:
    """Every tab in one Blocks, with a bounded queue."""
    # Many students share 2 cores: one thread per request, so parallel requests do not
    # fight over the cores (torch would otherwise give every request all of them).
    torch.set_num_threads(1)
    with gr.Blocks(
        title="How a neural network reads your handwriting", delete_cache=CACHE_CLEANUP
    ) as demo:
        gr.Markdown(
            "# How a neural network reads your handwriting\n"
            "The lesson's network: 28x28 pixels -> 784 numbers -> 128 ReLU units -> "
            "10 logits -> softmax -> 10 probabilities."
        )
        session = gr.State(new_session, time_to_live=SESSION_SECONDS, delete_callback=end_session)
        with gr.Tabs():
            with gr.Tab("Draw", id="draw"):
                build_draw_tab(session)
            with gr.Tab("Cross-entropy", id="cross-entropy"):
                build_cross_entropy_tab()
            with gr.Tab("Train", id="train"):
                build_train_tab(session)
        # Gradio's own cost per request, for benchmarks/classroom_load.py to compare with.
        gr.api(
            ping,
            api_name="ping",
            concurrency_limit=8,
            concurrency_id="ping",
            api_visibility="undocumented",
        )
        gr.api(
            ping_async,
            api_name="ping_async",
            concurrency_limit=8,
            concurrency_id="ping_async",
            api_visibility="undocumented",
        )
    demo.queue(max_size=MAX_QUEUE_SIZE, default_concurrency_limit=4)
    return demo


def prepare_to_serve() -> None:
    """Before a class arrives: read MNIST now, and keep start-up objects out of the GC.

    Reading MNIST (torchvision's import, 70,000 images into tensors) holds Python's lock for
    about 2 s: done in the first student's run instead, every student waits. Python's full
    garbage collections otherwise walk everything loaded so far and paused the server for
    ~300 ms under a class's load; from now on they are also rarer (GC_THRESHOLD). Then the
    Draw tab's stroke process is forked.
    """
    with contextlib.suppress(MNISTNotFoundError):  # the Train tab will say what to do
        shared_data()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    # Forked last, from the loaded and frozen process: its memory stays shared with ours.
    answer_strokes_in_a_process()


def launch_options() -> dict:
    """Safe defaults for a public Space: small uploads, no monitoring page, no extra files."""
    return {
        "max_file_size": "2mb",
        "enable_monitoring": False,
        "ssr_mode": False,
        "css": CSS,
        "footer_links": ["api", "gradio"],
    }
