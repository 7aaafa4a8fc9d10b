"""Driving the launched app in Debian's Chromium like a student: strokes, taps, reading the page.

Used by tests/test_browser.py. The drawing pad is a 280x280 <canvas>, shown at 280x280 CSS
pixels (smaller on a narrow phone), so a point (x, y) of the canvas is at

    page = top-left corner of the <canvas> + (x, y) * shown width / 280

`stroke_points(digit, box)` (tests/drawings.py) gives the strokes in those canvas
coordinates; `draw_digit` moves the mouse along them, one stroke per button press, and
`touch_digit` does the same with a finger through the Chrome DevTools Protocol.
"""

import io
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_demo.constants import PROJECT_ROOT
from mnist_demo.ui.draw_tab import CANVAS_SIZE, PAD_ID, classify_drawing

from drawings import stroke_points
from html_outputs import parse_bar_label, read_bars

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright never downloads one
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOT_DIR = PROJECT_ROOT / "test-artifacts" / "screenshots"

PAD = f"#{PAD_ID}"
CLEAR = f"{PAD} .clear"
ANSWER = "#draw-answer"
BARS = "#draw-bars"
EMPTY_HEADLINE = "Draw a digit"
INK_GREY = 64  # darker than this (0..255) on a screenshot of the paper counts as ink
PREDICTION_TIMEOUT_MS = 20_000  # a loaded 2-core CI machine: predict + render

# The bar chart on the page, read from each bar's accessible label (what a screen reader
# says): "digit 7: 0.9999, top guess" or "digit 3: 1.234e-05". The fill tells whether the
# bar is visible.
_BARS_JS = """
root => Array.from(root.querySelectorAll('[role="img"][aria-label^="digit "]'))
  .map(e => ({label: e.getAttribute('aria-label'), fill: e.getAttribute('fill')}))
"""


def pad_ready(page) -> None:
    """Wait until the pad (canvas and Clear button) and the ten empty bars are on the page."""
    page.locator(f"{PAD} canvas").first.wait_for(state="visible", timeout=30_000)
    page.locator(CLEAR).wait_for(state="visible", timeout=30_000)
    page.wait_for_function(
        # The bars' root may not be on the page yet: then there are no bars, not an error.
        "([selector, count]) => { const root = document.querySelector(selector); "
        f"return root !== null && ({_BARS_JS})(root).length === count; }}",
        arg=[BARS, 10],
        timeout=30_000,
    )


def paper(page) -> tuple[float, float, float]:
    """(left, top, scale): where the 280x280 canvas is on the page and how much it is scaled."""
    canvas = page.locator(f"{PAD} canvas").first.bounding_box()
    return canvas["x"], canvas["y"], canvas["width"] / CANVAS_SIZE


def to_page(page, strokes) -> list[list[tuple[float, float]]]:
    """Canvas coordinates (0..280) -> page coordinates (CSS pixels)."""
    left, top, scale = paper(page)
    return [[(left + x * scale, top + y * scale) for x, y in stroke] for stroke in strokes]


def digit_strokes(digit: int, box) -> list[list[tuple[float, float]]]:
    """The digit's strokes in canvas pixels; long curves thinned to ~13 points (a quick hand;
    fewer pointer events keep the tests fast on a busy CI machine)."""
    thinned = []
    for stroke in stroke_points(digit, box):
        if len(stroke) > 13:
            stroke = stroke[::2] + ([stroke[-1]] if len(stroke) % 2 == 0 else [])
        thinned.append(stroke)
    return thinned


def _steps(start, end, spacing: float = 40.0) -> int:
    """Pointer events for one segment: one per ~40 CSS pixels, like a quick hand."""
    return max(1, math.ceil(math.dist(start, end) / spacing))


def mouse_stroke(page, points, release: bool = True) -> None:
    """One stroke: press, move through the points, release (one .change per release).
    With release=False the button stays down (the caller releases it)."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for previous, point in zip(points, points[1:], strict=False):
        page.mouse.move(*point, steps=_steps(previous, point))
    if release:
        page.mouse.up()


def draw_digit(page, digit: int, box) -> None:
    for stroke in to_page(page, digit_strokes(digit, box)):
        mouse_stroke(page, stroke)


def touch_stroke(cdp, points) -> None:
    """One finger stroke through the DevTools protocol: touchStart, touchMoves, touchEnd."""

    def touch(kind: str, x: float, y: float) -> None:
        touch_points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})

    touch("touchStart", *points[0])
    previous = points[0]
    for point in points[1:]:
        steps = _steps(previous, point)
        for i in range(1, steps + 1):
            t = i / steps
            touch(
                "touchMove",
                previous[0] + (point[0] - previous[0]) * t,
                previous[1] + (point[1] - previous[1]) * t,
            )
        previous = point
    touch("touchEnd", *previous)


def two_finger_stroke(cdp, first, second, steps: int = 12) -> None:
    """Two fingers down together, each moving along its own line ((start, end) pairs)."""

    def at(line, t: float) -> dict:
        (x0, y0), (x1, y1) = line
        return {"x": x0 + (x1 - x0) * t, "y": y0 + (y1 - y0) * t}

    def send(kind: str, points: list[dict]) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    send("touchStart", [at(first, 0) | {"id": 1}])
    send("touchStart", [at(first, 0) | {"id": 1}, at(second, 0) | {"id": 2}])
    for i in range(1, steps + 1):
        t = i / steps
        send("touchMove", [at(first, t) | {"id": 1}, at(second, t) | {"id": 2}])
    send("touchEnd", [])


def touch_digit(page, cdp, digit: int, box) -> None:
    for stroke in to_page(page, digit_strokes(digit, box)):
        touch_stroke(cdp, stroke)


def headline(page) -> str:
    return page.locator(ANSWER).inner_text().strip()


def bars(page) -> list[dict]:
    """The bars on the page in digit order: [{"digit", "probability", "kind", "fill",
    "label"}], kind "top guess" or "other digits"."""
    rendered = page.locator(BARS).evaluate(_BARS_JS)
    result = [parse_bar_label(bar["label"]) | {"fill": bar["fill"]} for bar in rendered]
    return sorted(result, key=lambda bar: bar["digit"])


def wait_for_bars_to_change(page, before: list[dict], timeout_ms: int = PREDICTION_TIMEOUT_MS):
    """Wait until the rendered bar chart differs from `before`; return the new bars."""
    labels_before = sorted(bar["label"] for bar in before)
    page.wait_for_function(
        f"""([selector, before]) => {{
            const labels = ({_BARS_JS})(document.querySelector(selector)).map(b => b.label).sort();
            return labels.length === 10 && JSON.stringify(labels) !== JSON.stringify(before);
        }}""",
        arg=[BARS, labels_before],
        timeout=timeout_ms,
    )
    return bars(page)


def pad_drawing(page) -> str:
    """The pad's picture as it is now, as the PNG data URL it sends after a stroke."""
    return page.locator(f"{PAD} canvas").evaluate("canvas => canvas.toDataURL('image/png')")


def wait_for_the_pads_answer(page, timeout_ms: int = PREDICTION_TIMEOUT_MS) -> list[dict]:
    """Wait until the bars are the Draw tab's answer to the pad's picture as it is now (its
    last stroke answered, not an earlier one); return them."""
    answer = classify_drawing(pad_drawing(page))  # the shipped network, as the tab answers
    expected = sorted(bar["label"] for bar in read_bars(answer.bars))
    page.wait_for_function(
        f"""([selector, expected]) => {{
            const labels = ({_BARS_JS})(document.querySelector(selector)).map(b => b.label).sort();
            return JSON.stringify(labels) === JSON.stringify(expected);
        }}""",
        arg=[BARS, expected],
        timeout=timeout_ms,
    )
    return bars(page)


def ink_pixels(page, region=(0, 0, CANVAS_SIZE, CANVAS_SIZE)) -> int:
    """How many black pixels the pad shows, in `region` (x0, y0, x1, y1 in canvas pixels;
    default: the whole 280x280 canvas)."""
    left, top, scale = paper(page)
    x0, y0, x1, y1 = region
    margin = 3  # stay off the paper's edge and shadow
    png = page.screenshot(
        clip={
            "x": left + x0 * scale + margin,
            "y": top + y0 * scale + margin,
            "width": (x1 - x0) * scale - 2 * margin,
            "height": (y1 - y0) * scale - 2 * margin,
        }
    )
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return int((grey < INK_GREY).sum())  # the brush is black on white paper


def eventually(condition, timeout_s: float = 5.0, interval_s: float = 0.25) -> bool:
    """True as soon as condition() is; False if it never is within the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)


def save_screenshot(page, name: str, full_page: bool = False) -> Path:
    """test-artifacts/screenshots/<name>.png (git-ignored), for people to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
