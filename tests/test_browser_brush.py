"""The pad's boldest brush on small digits, in real Chromium: still read right.

A bold brush on a small digit used to make a blob the network read as an 8 (issue 16): the
preprocessing now redraws the strokes at MNIST's width, and the network has learnt the
filled loops that stay. Here the slider is set to its largest radius and every digit is
drawn small with the mouse through the real pad.

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

# Every digit drawn a quarter of the pad's height (72 of its 280 px, the smallest the issue
# asks for), all over the pad (canvas pixels: left, top, right, bottom of the pen's path).
# With the boldest brush a small 2, 3 or 5 used to be read as an 8 or a 3 (issue 16): the
# network saw a lump with filled loops. It now trains on such lumps (bold_digits.py).
SPOTS = [(20, 20), (110, 15), (200, 25), (25, 105), (115, 110), (205, 100), (30, 195), (120, 200)]
SPOTS += [(200, 195), (70, 60)]
SMALL_DIGITS = [(digit, (x, y, x + 55, y + 72)) for digit, (x, y) in enumerate(SPOTS)]


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
