"""The drawing pad (mnist_demo/ui/drawing_pad.py): its static files, its API, and a real stroke.

The browser test draws with the mouse in Debian's Chromium; locally it skips when Chromium or
Playwright is missing, in CI (CI=true) that is a failure.

    .venv/bin/python -m pytest tests/test_drawing_pad.py -q
"""

import re

import gradio as gr
import pytest
from gradio_client import Client

from mnist_demo.ui.drawing_pad import (
    BRUSH_RANGE,
    BRUSH_SIZE,
    CANVAS_SIZE,
    PAD_ID,
    STATIC,
    DrawingPad,
)

from browser_helpers import PAD, mouse_stroke, to_page
from conftest import serving

A_DATA_URL = "data:image/png;base64," + "A" * 2000


def test_the_pad_carries_its_static_files_and_starts_empty():
    pad = DrawingPad()
    html = (STATIC / "pad.html").read_text(encoding="utf-8")
    css = (STATIC / "pad.css").read_text(encoding="utf-8")
    size, brush = str(CANVAS_SIZE), str(BRUSH_SIZE)
    filled = {"$CANVAS_SIZE": size, "$BRUSH_SIZE": brush, "$BRUSH_MIN": "4", "$BRUSH_MAX": "20"}
    for name, value in filled.items():
        html = html.replace(name, value)
    assert pad.html_template == html
    assert BRUSH_RANGE == (4, 20)  # 8 to 40 px wide: the reference demo's 6-40 px
    assert pad.css_template == css.replace("${CANVAS_SIZE}", size)
    assert pad.js_on_load == (STATIC / "pad.js").read_text(encoding="utf-8")
    assert pad.value == ""
    assert (pad.label, pad.show_label, pad.container, pad.elem_id) == (
        "Your digit",
        False,
        True,
        PAD_ID,
    )
    assert DrawingPad(label="Digit", elem_id="pad-2").elem_id == "pad-2"


def test_the_browser_and_the_api_see_a_plain_html_component():
    """Gradio's frontend picks its code by block name: "html" is gr.HTML's; the API: a string."""
    pad = DrawingPad()
    assert pad.get_block_name() == gr.HTML().get_block_name() == "html"
    assert pad.api_info() == gr.HTML().api_info() == {"type": "string"}
    assert pad.preprocess(A_DATA_URL) == A_DATA_URL  # the handler gets the data URL itself


@pytest.fixture(scope="module")
def pad_app():
    """A tiny app: a DrawingPad whose `change` writes the length of its value into a box."""
    with gr.Blocks() as demo:
        pad = DrawingPad()
        box = gr.Textbox(elem_id="box")
        pad.change(lambda v: str(len(v)) if v else "empty", pad, box, api_name="predict")
    with serving(demo) as url:
        yield url


@pytest.mark.slow
def test_the_api_takes_a_data_url_string(pad_app):
    assert Client(pad_app, verbose=False).predict(A_DATA_URL, api_name="/predict") == "2022"


@pytest.mark.browser
@pytest.mark.slow
def test_a_mouse_stroke_sends_a_png_and_clear_sends_nothing(browser, pad_app):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.goto(pad_app)
        canvas = page.locator(f"{PAD} canvas")
        expect(canvas).to_have_attribute("width", str(CANVAS_SIZE))
        expect(canvas).to_have_attribute("aria-label", "Drawing pad: draw one digit here")
        expect(canvas).to_have_css("touch-action", "none")  # pad.css reached the page
        expect(page.locator(f"{PAD} .pad-title")).to_have_text("Your digit")
        expect(page.locator(f"{PAD} .brush")).to_have_value(str(BRUSH_SIZE))

        mouse_stroke(page, to_page(page, [[(60, 60), (140, 200), (220, 80)]])[0])
        box = page.locator("#box textarea")
        expect(box).to_have_value(re.compile(r"^\d{4,}$"))  # a PNG data URL arrived

        page.locator(f"{PAD} #clear-btn").click()
        expect(box).to_have_value("empty")
    finally:
        page.close()
