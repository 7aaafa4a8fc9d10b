"""The drawing pad: a canvas a student draws one digit on, as a small Gradio component.

Its HTML, CSS and JavaScript are in static/pad.html, pad.css and pad.js, next to this file.
"""

from pathlib import Path
from string import Template

import gradio as gr

CANVAS_SIZE = 280  # a small canvas: cheap to send on every stroke, 10x MNIST's 28
BRUSH_SIZE = 12  # brush radius in canvas pixels: strokes about as thick as MNIST's
# The slider's radii: 8 to 40 px wide, the range of the reference demo's brush (6-40 px on
# 280). Bolder, a digit drawn a quarter of the pad high is a lump nobody could read: at
# radius 24 the shipped network read 95-97% of such drawings (docs/performance.md).
BRUSH_RANGE = (4, 20)
PAD_ID = "draw-pad"

STATIC = Path(__file__).with_name("static")


def _read(name: str) -> str:
    """A file of static/, with the sizes above filled in (before Gradio sees it)."""
    text = (STATIC / name).read_text(encoding="utf-8")
    low, high = BRUSH_RANGE
    return Template(text).substitute(
        CANVAS_SIZE=CANVAS_SIZE, BRUSH_SIZE=BRUSH_SIZE, BRUSH_MIN=low, BRUSH_MAX=high
    )


PAD_HTML = _read("pad.html")
PAD_CSS = _read("pad.css")
PAD_JS = (STATIC / "pad.js").read_text(encoding="utf-8")


class DrawingPad(gr.HTML):
    """The pad. Its value is the drawing as one PNG data URL, "" while nothing is drawn.

    pad.js sets the value after every stroke and on Clear, which sends the `change` event.
    Gradio shows it with the same browser code as any gr.HTML (its block name is "html").
    """

    def __init__(
        self,
        value: str = "",
        *,
        label: str = "Your digit",  # for the API page; the pad shows its own title
        show_label: bool = False,
        container: bool = True,
        elem_id: str = PAD_ID,
        **kwargs,
    ):
        super().__init__(
            value,
            label=label,
            show_label=show_label,
            container=container,
            elem_id=elem_id,
            html_template=PAD_HTML,
            css_template=PAD_CSS,
            js_on_load=PAD_JS,
            **kwargs,
        )
