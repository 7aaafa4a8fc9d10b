"""The pad's boldest brush on small digits, in real Chromium: still read right.

A bold brush on a small digit used to make a blob the network read as an 8 (issue 16): the
preprocessing now redraws the strokes at MNIST's width, and the network has learnt the
filled loops that stay. Here the slider is set to its largest radius and every digit is
drawn small, twice, with the mouse through the real pad.

    MNIST_DATA_DIR=../shared/mnist .venv/bin/python -m pytest tests/test_browser_brush.py -q
"""

import pytest

from mnist_demo.predict import predict

from browser_helpers import ANSWER, CLEAR, EMPTY_HEADLINE, PAD, draw_digit, pad_drawing, pad_ready

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
SMALL_DIGITS = [
    (digit, (x, y, x + 55, y + 72))
    for spots in (SPOTS, SPOTS[::-1])  # each digit in two places
    for digit, (x, y) in enumerate(spots)
]
# The benchmark reads 94-96% of digits this small with this brush right (drawn_accuracy.py,
# docs/performance.md), so a miss or two in twenty is within what the network does; the
# issue's bug read 25-30% of them wrong. At least 90%: the shipped network reads 18 (it
# takes the 8 in the bottom-right corner for a 2 and the second 2 for a 9; session 13's
# network read 19, taking that 2 for a 7).
AT_LEAST_RIGHT = 18


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
    misread = []
    for digit, box in SMALL_DIGITS:
        draw_digit(page, digit, box)
        # What the network reads from the pad's own picture (the PNG it sent last)...
        read = predict(pad_drawing(page)).digit
        if read != digit:
            misread.append(f"{digit} in {box} read as {read}")
        # ...is what the page says.
        expect(page.locator(ANSWER)).to_contain_text(f"The network says {read} (", timeout=20_000)
        page.locator(CLEAR).click()
        expect(page.locator(ANSWER)).to_contain_text(EMPTY_HEADLINE, timeout=10_000)
    right = len(SMALL_DIGITS) - len(misread)
    assert right >= AT_LEAST_RIGHT, f"{right} of {len(SMALL_DIGITS)} read right; misread: {misread}"
