"""The whole app: the tabs composed into one Gradio Blocks.

    demo = build_demo()
    prepare_to_serve(demo)            # before a class: see mnist_demo/classroom/server.py
    demo.launch(**launch_options())

Shared things (MNIST tensors, the shipped model) are loaded once per process and only read.
What belongs to one student (their models and runs) is a `StudentSession` in a `gr.State`,
made fresh for each browser session.
"""

import gradio as gr

from mnist_demo.classroom import server
from mnist_demo.classroom.limits import shorten_error
from mnist_demo.classroom.runs import StudentSession
from mnist_demo.ui.cross_entropy_tab import build_cross_entropy_tab
from mnist_demo.ui.draw_tab import build_draw_tab
from mnist_demo.ui.lean_sessions import use_lean_sessions
from mnist_demo.ui.palette import READABLE_CSS
from mnist_demo.ui.train_tab import build_train_tab

TITLE = "How a neural network reads your handwriting"

# A student's session is dropped this long after a handler last returned it, or an hour
# after its browser tab closed (Gradio's rules); `StudentSession.end` tidies up after it.
# Sessions no event used for 20 minutes go sooner: classroom/sessions.py.
SESSION_SECONDS = 8 * 3600  # a school day

# Requests waiting beyond this are refused with "queue full" instead of piling up.
MAX_QUEUE_SIZE = 200

# Uploads (through the API) and each finished run's gallery and weights are files in
# Gradio's cache: every CACHE_CLEANUP[0] seconds, files older than CACHE_CLEANUP[1] go.
CACHE_CLEANUP = (600, 1800)

# Square pixels for the 28x28 preview (the pad has its own CSS, in ui/static/pad.css).
CSS = """
#draw-seen img { image-rendering: pixelated; }
.big-number { font-size: 2.6rem; font-weight: 700; line-height: 1.1; }
"""


def new_session() -> StudentSession:
    """One student's own things; Gradio calls this once per browser session."""
    return StudentSession()


def end_session(session: StudentSession) -> None:
    """Gradio calls this when a student's session ends."""
    if isinstance(session, StudentSession):
        session.end()


class ClassroomBlocks(gr.Blocks):
    """gr.Blocks whose error messages quote at most a short part of a bad value.

    Gradio's own messages repeat the whole value ("Value: <20 MB> is not in the list of
    choices", "Received inputs: [...]"): to the caller, and into the server's log.
    """

    async def process_api(self, *args, **kwargs):
        try:
            output = await super().process_api(*args, **kwargs)
        except Exception as error:
            shorten_error(error)
            raise
        if isinstance(output, Exception):  # Gradio may hand an error back to be raised
            shorten_error(output)
        return output


def build_demo() -> gr.Blocks:
    """Every tab in one Blocks, with a bounded queue."""
    with ClassroomBlocks(title=TITLE, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            f"# {TITLE}\n"
            "The lesson's network: 28x28 pixels -> 784 numbers -> 128 ReLU units -> "
            "10 logits -> softmax -> 10 probabilities."
        )
        session = gr.State(new_session, time_to_live=SESSION_SECONDS, delete_callback=end_session)
        with gr.Tabs():
            with gr.Tab("Draw", id="draw"):
                draw = build_draw_tab(session)
            with gr.Tab("Cross-entropy", id="cross-entropy"):
                build_cross_entropy_tab()
            with gr.Tab("Train", id="train"):
                for event in build_train_tab(session):  # "use this model in the Draw tab"...
                    draw.answer_again(event)  # ...answers the drawing on the pad again at once
    demo.stroke_handler = draw.handler
    demo.queue(max_size=MAX_QUEUE_SIZE, default_concurrency_limit=4)
    return demo


def prepare_to_serve(demo: gr.Blocks) -> None:
    """Before a class arrives (classroom/server.py): data loaded, GC tuned, and the Draw
    tab's strokes answered in a process of their own from now on."""
    handler = demo.stroke_handler
    handler.process = server.prepare_to_serve(handler.answer_in_process)


# Screen readers announce every new answer of the Draw tab (it changes without a click).
ANNOUNCE_ANSWERS_JS = """
() => {
  const answer = document.querySelector('#draw-answer');
  if (answer) { answer.setAttribute('aria-live', 'polite'); answer.setAttribute('role', 'status'); }
}
"""


def launch_options() -> dict:
    """`demo.launch()`'s options: the server's safe defaults (sessions without a copy of the
    page's settings: ui/lean_sessions.py), our CSS and page script."""
    options = server.launch_options(prepare_app=use_lean_sessions)
    return {**options, "css": CSS + READABLE_CSS, "js": ANNOUNCE_ANSWERS_JS}
