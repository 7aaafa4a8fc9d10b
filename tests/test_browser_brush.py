"""The pad's boldest brush on small digits, in real Chromium: still read right.

A bold brush on a small digit used to make a blob the network read as an 8 (issue 16): the
preprocessing now redraws the strokes at MNIST's width. Here the slider is set to its
largest radius and small digits are drawn with the mouse through the real pad.

    MNIST_DATA_DIR=../shared/mnist .venv/bin/python -m pytest tests/test_browser_brush.py -q
"""

import pytest

from mnist_demo.predict import predict

from browser_helpers import ANSWER, CLEAR, EMPTY_HEADLINE, PAD, draw_digit, pad_ready

try:  # without Playwright the `browser` fixture skips (locally) or fails (in CI)
    from playwright.sync_api import expect
except ImportError:
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Small digits, about a third of the pad's height, in different places (canvas pixels:
# left, top, right, bottom of the pen's path); the 5 nearly half of it: a bold 5 smaller
# than that fills the bend under its top bar and is read as a 3 (see issue 16's notes).
SMALL_DIGITS = [
    (2, (30, 30, 95, 115)),
    (3, (170, 20, 235, 105)),
    (4, (165, 160, 240, 250)),
    (8, (110, 90, 170, 180)),
    (5, (20, 130, 110, 262)),
    (7, (10, 10, 58, 70)),  # a fifth of the pad: test_browser.py's misread 7 until issue 16
]


@pytest.fixture(scope="module")
def page(browser, launched_app):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(launched_app)
    pad_ready(page)
    yield page
    context.close()


def test_the_boldest_brush_reads_small_digits(page):
    brush = page.locator(f"{PAD} input.brush")
    boldest = brush.get_attribute("max")
    brush.fill(boldest)
    assert brush.input_value() == boldest
    for digit, box in SMALL_DIGITS:
        draw_digit(page, digit, box)
        # The pad's own picture (the PNG it sent after the last stroke) is read right...
        drawing = page.locator(f"{PAD} canvas").evaluate("canvas => canvas.toDataURL('image/png')")
        read = predict(drawing).digit
        assert read == digit, f"a small bold {digit} in {box} was read as {read}"
        # ...and the page says so.
        expect(page.locator(ANSWER)).to_contain_text(f"The network says {digit} (", timeout=20_000)
        page.locator(CLEAR).click()
        expect(page.locator(ANSWER)).to_contain_text(EMPTY_HEADLINE, timeout=10_000)
