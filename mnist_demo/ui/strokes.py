"""The drawing pad's stroke handler: `classify_drawing`, answered in the stroke process
(mnist_demo/classroom/stroke_process.py) once one is attached, else in a worker thread.

It returns what the browser receives (each output already through its component's
`postprocess`), so Gradio hands a stroke to a worker thread at most once, not once per
output: docs/performance.md says why that matters under a class's load.
"""

from collections.abc import Callable
from typing import NamedTuple

import anyio.to_thread
import gradio as gr

from mnist_demo.classroom.limits import DrawingTooLarge, check_drawing
from mnist_demo.classroom.stroke_process import StrokeProcess, StrokeProcessGone


class ProcessAnswer(NamedTuple):
    """What the stroke process sends back: the browser's outputs, or the student's error."""

    outputs: list | None = None
    error: str | None = None


def postprocessed_for_browser(components: list, values) -> list:
    """`values` in the form the browser receives them: each component's own `postprocess`.

    It uses the components as built: a per-session gr.update() would be ignored here.
    """
    sent = []
    for component, value in zip(components, values, strict=True):
        data = component.postprocess(value)
        sent.append(data.model_dump() if hasattr(data, "model_dump") else data)
    return sent


class StrokeHandler:
    """`answer_stroke(canvas, session)` answers one stroke; the server attaches `process`.

    `options(canvas, session)` picks what of the session the answer needs (a small picklable
    tuple: the stroke process has no session), passed on as `classify(canvas, session,
    *options)`.
    """

    def __init__(self, classify: Callable, outputs: list, options: Callable = lambda c, s: ()):
        self.classify = classify  # canvas, session, *options -> the outputs' values
        self.outputs = outputs
        self.options = options
        self.process: StrokeProcess | None = None

    def answer_here(self, canvas, session=None, options: tuple = ()) -> list:
        """The outputs as the browser receives them, computed in this process."""
        return postprocessed_for_browser(self.outputs, self.classify(canvas, session, *options))

    def answer_in_process(self, stroke: tuple) -> ProcessAnswer:
        """What the stroke process runs for each (canvas, options) (with the shipped model)."""
        try:
            return ProcessAnswer(outputs=self.answer_here(stroke[0], None, stroke[1]))
        except gr.Error as error:
            return ProcessAnswer(error=str(error.message))

    async def answer_stroke(self, canvas: str, session):
        """A coroutine: waiting for the process takes no worker thread. A student's own
        model (or a stroke the process cannot take) is answered here, in one worker thread.

        A drawing too large to be one (classroom/limits.py) is refused first, from its
        length and its PNG header: it is neither decoded nor kept in the session."""
        try:
            check_drawing(canvas)
        except DrawingTooLarge as error:  # expected: no traceback in the server's log
            raise gr.Error(str(error), print_exception=False) from None
        options = self.options(canvas, session)
        own_model = getattr(session, "draw_model", None) is not None
        if self.process is not None and isinstance(canvas, str) and not own_model:
            try:
                answer = await self.process.ask((canvas, options))
            except StrokeProcessGone:  # stopped, or this stroke failed there
                pass  # answered here instead (and a real error is raised here)
            else:
                if answer.error is not None:
                    raise gr.Error(answer.error)
                return answer.outputs
        return await anyio.to_thread.run_sync(self.answer_here, canvas, session, options)
