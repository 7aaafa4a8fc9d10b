"""The launched app in real Chromium, used the way students use it: mouse, finger, sliders.

Python Playwright drives Debian's /usr/bin/chromium headless (no browser download). Locally
the tests skip when Chromium or Playwright is missing; in CI (CI=true) that is a failure.
Screenshots of each tab go to test-artifacts/screenshots/ (git-ignored); a failing test
leaves failed-<test>.png there too.

    MNIST_DATA_DIR=../shared/mnist .venv/bin/python -m pytest tests/test_browser.py -q
"""

import math
import re
import time

import pytest

from mnist_demo.losses import LESSON_EXAMPLES
from mnist_demo.ui.drawing_pad import BRUSH_RANGE

from browser_helpers import (
    ANSWER,
    CLEAR,
    EMPTY_HEADLINE,
    PAD,
    PREDICTION_TIMEOUT_MS,
    bars,
    digit_strokes,
    draw_digit,
    eventually,
    ink_pixels,
    mouse_stroke,
    pad_ready,
    paper,
    save_screenshot,
    to_page,
    touch_digit,
    touch_stroke,
    two_finger_stroke,
    wait_for_bars_to_change,
    wait_for_the_pads_answer,
)
from conftest import require_or_skip
from drawings import CENTERED

try:  # without Playwright the `browser` fixture skips (locally) or fails (in CI)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect
except ImportError:
    expect = PlaywrightTimeout = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 in CSS pixels

# Small drawings off-centre (about a third of the canvas, in a corner) and large centred
# ones, in canvas pixels (left, top, right, bottom) of the 280x280 pad.
SMALL_BOTTOM_RIGHT = (170, 170, 250, 260)
SMALL_TOP_LEFT = (10, 10, 70, 90)
SMALL_BOTTOM_LEFT = (20, 170, 100, 260)


@pytest.fixture
def new_page(browser, launched_app, request):
    """Opens the app in a fresh browser context (a new student); closes them all after.

    A test that fails leaves a screenshot of every page it opened in test-artifacts/.
    """
    contexts = []
    failures_before = request.session.testsfailed

    def open_page(**context_options):
        context = browser.new_context(**({"viewport": DESKTOP} | context_options))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(launched_app)
        pad_ready(page)
        return page

    yield open_page
    failed = request.session.testsfailed > failures_before
    for number, context in enumerate(contexts):
        if failed:
            for page in context.pages:
                save_screenshot(page, f"failed-{request.node.name}-{number}")
        context.close()


def expect_headline(page, text: str, timeout: int = PREDICTION_TIMEOUT_MS) -> None:
    expect(page.locator(ANSWER)).to_contain_text(text, timeout=timeout)


def predicted_digit(bars_now: list[dict]) -> int:
    return max(bars_now, key=lambda bar: bar["probability"])["digit"]


# ------------------------------------------------------------------------------------------
# Draw
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digit, box",
    [
        (0, CENTERED),
        (0, SMALL_BOTTOM_RIGHT),
        (1, CENTERED),
        (1, SMALL_TOP_LEFT),
        (7, CENTERED),
        (7, SMALL_BOTTOM_LEFT),
    ],
    ids=["0-large", "0-small-corner", "1-large", "1-small-corner", "7-large", "7-small-corner"],
)
def test_a_drawn_digit_is_predicted(new_page, digit, box):
    page = new_page()
    before = bars(page)
    assert [bar["probability"] for bar in before] == [0.0] * 10

    draw_digit(page, digit, box)

    expect_headline(page, f"The network says {digit} (")
    after = wait_for_bars_to_change(page, before)
    assert predicted_digit(after) == digit
    assert sum(bar["probability"] for bar in after) == pytest.approx(1.0, abs=1e-3)
    if (digit, box) == (7, CENTERED):
        save_screenshot(page, "draw")


def test_the_bars_change_after_every_stroke(new_page):
    """A 4 in two strokes: each stroke (pointer up) gives new probabilities."""
    page = new_page()
    first, second = to_page(page, digit_strokes(4, CENTERED))
    previous = bars(page)

    mouse_stroke(page, first)
    expect_headline(page, "The network says")
    after_first = wait_for_bars_to_change(page, previous)

    mouse_stroke(page, second)
    after_second = wait_for_bars_to_change(page, after_first)
    expect_headline(page, "The network says 4 (")
    assert predicted_digit(after_second) == 4


def test_the_top_guess_bar_is_visible(new_page):
    """The most likely digit's bar is drawn in the top-guess colour, not left unfilled."""
    page = new_page()
    before = bars(page)
    draw_digit(page, 7, CENTERED)
    after = wait_for_bars_to_change(page, before)
    top = after[7]
    assert top["kind"] == "top guess"
    assert top["fill"] not in (None, "", "null", "none", "transparent"), (
        f"the bar of the predicted digit is invisible (fill={top['fill']!r}): "
        "the chart's colour scale only knows the kinds in its first value"
    )


def test_clear_empties_the_canvas_and_the_prediction(new_page):
    page = new_page()
    draw_digit(page, 1, CENTERED)
    expect_headline(page, "The network says 1 (")
    assert ink_pixels(page) > 500

    page.get_by_role("button", name="Clear", exact=True).click()

    expect_headline(page, EMPTY_HEADLINE)
    assert "The network says" not in page.locator(ANSWER).inner_text()
    assert eventually(lambda: ink_pixels(page) == 0), "the drawing is still on the canvas"
    assert all(bar["probability"] == 0 for bar in bars(page))
    assert page.locator("#draw-seen img").count() == 0  # "what the network sees" is empty
    expect(page.locator("#draw-numbers")).to_contain_text("Nothing drawn yet")
    expect(page.locator("#draw-numbers table")).to_have_count(0)  # no made-up numbers


def test_drawing_works_again_after_clear(new_page):
    """After Clear a student just draws again: nothing else to click."""
    page = new_page()
    draw_digit(page, 1, CENTERED)
    expect_headline(page, "The network says 1 (")
    page.get_by_role("button", name="Clear", exact=True).click()
    expect_headline(page, EMPTY_HEADLINE)
    draw_digit(page, 7, CENTERED)
    expect_headline(page, "The network says 7 (")


def test_a_stroke_that_loses_its_pointer_ends_and_the_pad_keeps_drawing(new_page):
    """The browser may take a pointer away mid-stroke (a system gesture, a pop-up): the
    stroke ends there and is answered, and the next stroke draws as usual."""
    page = new_page()
    page.evaluate(
        """selector => document.querySelector(selector).addEventListener(
               'pointerdown', event => { window.penId = event.pointerId; })""",
        f"{PAD} canvas",
    )
    (stroke,) = to_page(page, digit_strokes(1, CENTERED))
    mouse_stroke(page, stroke, release=False)
    page.evaluate(
        "selector => document.querySelector(selector).releasePointerCapture(window.penId)",
        f"{PAD} canvas",
    )
    expect_headline(page, "The network says")  # answered before the button is released
    page.mouse.up()

    page.get_by_role("button", name="Clear", exact=True).click()
    expect_headline(page, EMPTY_HEADLINE)
    draw_digit(page, 7, CENTERED)
    expect_headline(page, "The network says 7 (")


def test_clear_works_every_time(new_page):
    """Draw, Clear, draw, Clear: the second Clear empties the pad and the answer too."""
    page = new_page()
    for digit in (1, 7):
        draw_digit(page, digit, CENTERED)
        expect_headline(page, f"The network says {digit} (")
        page.get_by_role("button", name="Clear", exact=True).click()
        expect_headline(page, EMPTY_HEADLINE, timeout=10_000)
        assert eventually(lambda: ink_pixels(page) == 0), "the drawing is still on the canvas"


def test_the_brush_slider_makes_bolder_strokes(new_page):
    page = new_page()
    draw_digit(page, 1, CENTERED)
    expect_headline(page, "The network says 1 (")
    thin = ink_pixels(page)
    page.locator(CLEAR).click()
    expect_headline(page, EMPTY_HEADLINE)
    page.locator(f"{PAD} input.brush").fill(str(BRUSH_RANGE[1]))  # the boldest
    draw_digit(page, 1, CENTERED)
    expect_headline(page, "The network says 1 (")
    assert ink_pixels(page) > 1.3 * thin


# ------------------------------------------------------------------------------------------
# Touch
# ------------------------------------------------------------------------------------------


def test_touch_drawing_on_a_phone_predicts_without_scrolling(new_page):
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=3)
    cdp = page.context.new_cdp_session(page)
    scroll_height = page.evaluate("document.scrollingElement.scrollHeight")
    assert scroll_height > PHONE["height"], "the page must be scrollable for this test"

    # Pad 100 px below the top of the screen: the page can scroll both ways from here.
    pad_top = page.locator(PAD).bounding_box()["y"]
    page.evaluate("y => window.scrollTo(0, y)", pad_top - 100)
    page.wait_for_function("() => window.scrollY > 0")
    scroll_before = page.evaluate("window.scrollY")

    touch_digit(page, cdp, 7, CENTERED)

    expect_headline(page, "The network says 7 (")
    assert page.evaluate("window.scrollY") == scroll_before
    save_screenshot(page, "draw-phone")

    # The same finger movement beside the pad does scroll: the check above can fail.
    right_margin = PHONE["width"] - 8
    touch_stroke(cdp, [(right_margin, 700), (right_margin, 500), (right_margin, 300)])
    page.wait_for_function("y => window.scrollY !== y", arg=scroll_before)


def test_a_second_finger_does_not_draw(new_page):
    """A palm or second finger on a phone: only the first finger's stroke is drawn, with no
    lines jumping between the two fingers."""
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=3)
    cdp = page.context.new_cdp_session(page)
    page.locator(PAD).scroll_into_view_if_needed()
    left, top, scale = paper(page)

    def on_page(x: float, y: float) -> tuple[float, float]:
        return left + x * scale, top + y * scale

    # First finger: down the left of the pad. Second finger: down the right, meanwhile.
    two_finger_stroke(
        cdp, (on_page(60, 60), on_page(60, 220)), (on_page(220, 60), on_page(220, 220))
    )
    expect_headline(page, "The network says")
    assert ink_pixels(page, region=(30, 40, 90, 240)) > 0  # the first finger's line
    assert ink_pixels(page, region=(100, 0, 280, 280)) == 0  # nothing in the middle or right


# ------------------------------------------------------------------------------------------
# Cross-entropy
# ------------------------------------------------------------------------------------------


def open_cross_entropy(new_page):
    page = new_page()
    page.get_by_role("tab", name="Cross-entropy").click()
    page.get_by_label("range slider for P(cat)").wait_for(state="visible")
    return page


def shown_loss(page):
    """The big number under "Cross-entropy = -log(ŷ[cat]) = ...", as a locator."""
    return page.locator(".prose", has_text="Cross-entropy = -log(ŷ[").last.locator("h1")


def test_moving_a_slider_changes_the_loss(new_page):
    page = open_cross_entropy(new_page)
    loss = shown_loss(page)
    expect(loss).to_have_text("0.2877")  # the lesson's first example: -ln(0.75)

    slider = page.get_by_label("range slider for P(cat)")
    slider.focus()
    for _ in range(5):  # 0.75 -> 0.80 in steps of 0.01, as a student with the arrow keys
        slider.press("ArrowRight")

    # The sliders are divided by their sum: -ln(0.80 / (0.80 + 0.25 + 0))
    expect(loss).to_have_text(f"{-math.log(0.80 / 1.05):.4f}", timeout=PREDICTION_TIMEOUT_MS)

    page.get_by_label("number input for P(dog)").fill("0.05")
    page.get_by_label("number input for P(dog)").press("Enter")
    expect(loss).to_have_text(f"{-math.log(0.80 / 0.85):.4f}", timeout=PREDICTION_TIMEOUT_MS)


# The lesson's worked examples (true class cat) and the losses its slides give.
LESSON_VALUES = {
    "y_hat = [0.75, 0.25, 0.0]": "0.2877",
    "y_hat = [0.99, 0.01, 0.0]": "0.0101",
    "p(cat) = 1": "0.0000",
    "p(cat) = 0.01": "4.6052",
    "p(cat) = 0 (edge case)": "34.5388",  # -ln(1e-15): the lesson's epsilon
}


def test_each_lesson_preset_shows_its_value(new_page):
    assert set(LESSON_VALUES) == {example.label for example in LESSON_EXAMPLES}
    page = open_cross_entropy(new_page)
    # Backwards, so the first preset (the start values) is not already on show.
    for label, value in reversed(LESSON_VALUES.items()):
        page.get_by_role("button", name=label, exact=True).click()
        expect(shown_loss(page)).to_have_text(value, timeout=PREDICTION_TIMEOUT_MS)
        if label == "p(cat) = 0.01":
            save_screenshot(page, "cross-entropy", full_page=True)


def test_all_zero_logits_give_log_ten(new_page):
    """The logits view: ten equal logits -> uniform softmax -> loss ln(10) = 2.3026."""
    page = new_page()
    page.get_by_role("tab", name="Cross-entropy").click()
    page.get_by_role("tab", name="From logits").click()
    page.get_by_role("button", name="All logits 0 (no idea)").click()
    loss = page.locator(".prose", has_text="Cross-entropy = -log_softmax(logits)").last
    expect(loss.locator("h1")).to_have_text(re.compile(r"^\s*2\.3026\s*$"), timeout=20_000)


# ------------------------------------------------------------------------------------------
# Train
# ------------------------------------------------------------------------------------------

TRAIN_STATUS = "#train-status"
RUNNING_STEP = re.compile(r"step ([\d,]+) of ([\d,]+)")
STOPPED_STEP = re.compile(r"Stopped by you after ([\d,]+) of ([\d,]+) steps")
# How much of each curve is drawn: the length of the points of every line of the chart.
LINES_JS = """root => Array.from(root.querySelectorAll('polyline.run-line'))
  .map(line => (line.getAttribute('points') || '').length)"""
PROJECTOR = {"viewport": {"width": 1280, "height": 720}, "device_scale_factor": 1.5}


def open_train(page):
    tab = page.get_by_role("tab", name="Train", exact=True)
    if tab.count() == 0:
        require_or_skip("the app has no Train tab yet (build_train_tab not in build_demo)")
    tab.click()
    page.get_by_role("button", name="Train", exact=True).wait_for(state="visible")


def set_run(page, steps: int, train_images: int = 1000) -> None:
    """A run of `steps` steps on a small subset (the rest of the settings: the defaults)."""
    page.get_by_role("radio", name="steps", exact=True).check()
    page.get_by_label("how many").fill(str(steps))
    page.get_by_text("More settings").click()  # the training images are folded away
    images = page.get_by_label("number input for Training images used")
    images.fill(str(train_images))
    images.press("Enter")
    page.get_by_text("More settings").click()


def curves(page) -> tuple:
    return (
        tuple(page.locator("#train-loss").evaluate(LINES_JS)),
        tuple(page.locator("#train-accuracy").evaluate(LINES_JS)),
    )


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_a_run_streams_its_curves_and_stop_stops_it(new_page):
    page = new_page()
    open_train(page)
    set_run(page, steps=6000)
    page.get_by_role("button", name="Train", exact=True).click()

    # While it runs: the status counts steps up and the curves grow, update after update.
    steps_seen, curves_seen = [], []
    deadline = time.monotonic() + 60
    while len(set(steps_seen)) < 3 or len(set(curves_seen)) < 3:
        assert time.monotonic() < deadline, f"no streaming: steps {steps_seen}"
        status = page.locator(TRAIN_STATUS).inner_text()
        assert "Stopped" not in status and "Trained" not in status, (
            f"the run ended before three updates were seen: {status}"
        )
        running = RUNNING_STEP.search(status)
        if running and _number(running.group(1)) > 0:
            steps_seen.append(_number(running.group(1)))
            drawn = curves(page)
            if any(drawn[0]):
                curves_seen.append(drawn)
        time.sleep(0.2)
    assert steps_seen == sorted(steps_seen)

    page.get_by_role("button", name="Stop", exact=True).click()
    stopped_at = page.locator(TRAIN_STATUS)
    expect(stopped_at).to_contain_text("Stopped by you", timeout=10_000)
    step, total = map(_number, STOPPED_STEP.search(stopped_at.inner_text()).groups())
    assert steps_seen[-1] <= step < total == 6000
    time.sleep(1.5)  # a run that kept going would move the status on by now
    assert STOPPED_STEP.search(stopped_at.inner_text()).group(1) == f"{step:,}"
    save_screenshot(page, "train", full_page=True)


def numbers_after_drawing(page, digit: int = 7) -> str:
    """Draw `digit` on the Draw tab of `page`; the logits/softmax table as text."""
    page.get_by_role("tab", name="Draw", exact=True).click()
    draw_digit(page, digit, CENTERED)
    expect_headline(page, "The network says")
    table = page.locator("#draw-numbers table")
    expect(table.locator("tr")).to_have_count(11)  # a header and ten digits
    return table.inner_text()


def in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the viewport, as the page is scrolled now."""
    return page.locator(selector).first.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"""
    )


@pytest.mark.parametrize("screen", ["laptop", "projector"])
def test_train_status_and_loss_chart_fit_one_screen_with_the_button(new_page, screen):
    """Review M3: on a laptop and a projector, pressing Train and watching the run happen on
    one screen: the button, the status line with its progress and the loss chart."""
    page = new_page(**({"viewport": LAPTOP} if screen == "laptop" else PROJECTOR))
    open_train(page)
    set_run(page, steps=3000)
    page.get_by_role("button", name="Train", exact=True).click()  # scrolled into view
    expect(page.locator(TRAIN_STATUS)).to_contain_text("step", timeout=30_000)
    expect(page.locator("#train-loss polyline.run-line")).not_to_have_count(0, timeout=10_000)
    assert in_view(page, "#train-btn"), "the Train button left the screen"
    assert in_view(page, TRAIN_STATUS), "the status line is off the screen"
    assert in_view(page, "#train-loss svg"), "the loss chart is off the screen"
    save_screenshot(page, f"train-running-{screen}")
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator(TRAIN_STATUS)).to_contain_text("Stopped by you", timeout=10_000)


def test_a_fair_comparison_trains_three_runs_side_by_side(new_page):
    """Issue 14 (review M6): one press trains each optimizer at a rate that suits it; the
    charts overlay the three and the table puts them side by side."""
    page = new_page(viewport=LAPTOP)
    open_train(page)
    page.get_by_label("Fair comparison: each optimizer at a rate that suits it").check()
    set_run(page, steps=300, train_images=60000)
    page.get_by_role("button", name="Train", exact=True).click()
    rows = page.locator("#train-runs tbody tr")
    expect(rows).to_have_count(3, timeout=90_000)
    expect(page.locator(TRAIN_STATUS)).to_contain_text("Trained 300 steps", timeout=90_000)
    expect(page.locator("#train-btn")).to_be_enabled()
    table = page.locator("#train-runs").inner_text()
    for optimizer, lr in (("Adam", "0.001"), ("SGD", "0.1"), ("SGD+momentum", "0.01")):
        assert re.search(rf"{re.escape(optimizer)}\s+{lr}\s+300", table), table
    accuracies = [float(a) for a in re.findall(r"([\d.]+)%", table)]
    assert len(accuracies) == 3 and min(accuracies) > 80  # all three learn
    expect(page.locator("#train-loss polyline.run-line.train")).to_have_count(3)
    expect(page.locator("#train-loss polyline.run-line.test")).to_have_count(3)
    # Every test-loss line falls: its first point is higher on the chart than its last.
    falls = page.locator("#train-loss polyline.run-line.test").evaluate_all(
        """lines => lines.map(line => {
             const ys = line.getAttribute('points').trim().split(' ').map(p => +p.split(',')[1]);
             return ys[0] < ys[ys.length - 1]; })"""
    )
    assert falls == [True, True, True]
    save_screenshot(page, "train-comparison-laptop")


def test_a_queued_student_sees_the_runs_ahead_counting_down(new_page):
    """Review M4: a second student's press is taken at once and says, near the button, how
    many runs are ahead and about how long they take."""
    first, second = new_page(viewport=LAPTOP), new_page(viewport=LAPTOP)
    for page in (first, second):
        open_train(page)
    # Ten epochs 1,024 units wide: several times what the 30 s clock allows, so the time
    # left is the clock's, which counts down however busy the machine is. (At 128 units
    # an idle core nearly trains ten epochs in 30 s: the time left is then the steps left
    # at the run's speed, and that goes up when the run, which only gets spare CPU time,
    # slows down.)
    first.get_by_label("how many").fill("10")
    first.get_by_text("More settings").click()
    width = first.get_by_label("number input for Hidden width")
    width.fill("1024")
    width.press("Enter")
    set_run(second, steps=5000)  # ~20 s: still training when its Stop is pressed (100 steps
    # took 0.4 s on an idle machine, and the run had ended before the click: CI saw it)
    first.get_by_role("button", name="Train", exact=True).click()
    expect(first.locator(TRAIN_STATUS)).to_contain_text("step", timeout=30_000)
    second.get_by_role("button", name="Train", exact=True).click()
    status = second.locator(TRAIN_STATUS)
    expect(status).to_contain_text("1 run ahead of you, about", timeout=10_000)
    expect(second.locator("#train-btn")).to_be_disabled()  # the press was taken
    assert in_view(second, TRAIN_STATUS)
    waits = []
    for _ in range(4):
        waits.append(int(re.search(r"about (\d+) s", status.inner_text()).group(1)))
        time.sleep(1.5)
    assert waits[-1] < waits[0], f"the wait does not count down: {waits}"
    save_screenshot(second, "train-queued-laptop")
    first.get_by_role("button", name="Stop", exact=True).click()
    expect(status).to_contain_text("step", timeout=20_000)  # its turn came
    second.get_by_role("button", name="Stop", exact=True).click()
    expect(status).to_contain_text("Stopped by you", timeout=10_000)
    expect(second.locator("#train-btn")).to_be_enabled()


PHONE_TOUCH = {"viewport": PHONE, "is_mobile": True, "has_touch": True}
CUT_CELLS_JS = """root => Array.from(root.querySelectorAll('td, th'))
  .filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent)"""


def test_on_a_phone_the_confusion_matrix_and_runs_table_keep_whole_numbers(new_page):
    """Review M2: on a 390 px phone the diagonal's counts read "9.." and "true" read "t."."""
    page = new_page(**PHONE_TOUCH)
    open_train(page)
    set_run(page, steps=200)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.locator(TRAIN_STATUS)).to_contain_text("Trained 200 steps", timeout=60_000)
    matrix = page.locator("#train-confusion table.confusion")
    expect(matrix.locator("tbody tr")).to_have_count(10)
    assert matrix.evaluate(CUT_CELLS_JS) == []  # every count whole
    width = page.evaluate("document.documentElement.clientWidth")
    assert matrix.evaluate("el => el.getBoundingClientRect().right") <= width  # no sideways
    assert page.locator("#train-runs table").evaluate(CUT_CELLS_JS) == []
    matrix.scroll_into_view_if_needed()
    save_screenshot(page, "train-result-phone")


def test_use_in_draw_changes_only_this_sessions_predictions(new_page):
    """A student's tiny model answers their drawings; the classmates keep the shipped one."""
    student = new_page()
    open_train(student)
    set_run(student, steps=20)  # 20 steps from random weights: a poor, different model
    student.get_by_role("button", name="Train", exact=True).click()
    expect(student.locator(TRAIN_STATUS)).to_contain_text("Trained 20 steps", timeout=60_000)
    student.get_by_role("button", name="Use this model in the Draw tab").click()
    draw_model = student.locator(".prose", has_text="Draw tab model:").last
    expect(draw_model).to_contain_text("your run #1", timeout=10_000)

    with_own_model = numbers_after_drawing(student)
    classmates = []
    for _ in range(2):
        classmate = new_page()
        open_train(classmate)  # the same way to the Draw tab, without training
        classmates.append(numbers_after_drawing(classmate))
    classmate, another_classmate = classmates

    assert classmate == another_classmate  # the same strokes, the same (shipped) model
    assert with_own_model != classmate


# ------------------------------------------------------------------------------------------
# Draw: the lesson walked on the student's own drawing
# ------------------------------------------------------------------------------------------

# A small 4 in a corner (its pen path 55 px high, a fifth of the pad: under the smallest the
# app is measured on), drawn with the boldest brush: its strokes run together and close the
# top, and the shipped model reads a 9 (0.91 when this was written). (The tiny bold 7 this
# test drew before issue 16's second network is read right now, as are all ten digits a
# quarter of the pad high: test_browser_brush.py.)
MISREAD, MISREAD_BOX, BOLD_BRUSH = 4, (10, 10, 55, 65), str(BRUSH_RANGE[1])
LAPTOP = {"width": 1366, "height": 768}


def choose_meant(page, digit: int) -> None:
    page.locator("#draw-meant-choice").get_by_label(str(digit), exact=True).check()


def meant_loss(page) -> float:
    """The loss the page writes for the digit meant: "... = -log(0.031) = 3.47"."""
    text = page.locator("#draw-meant").inner_text()
    return float(re.search(r"= -log\(([0-9.e-]+)\) = ([0-9.]+)", text).group(2))


def test_a_misread_digit_gets_its_loss_and_is_taught_until_it_flips(new_page):
    page = new_page(viewport=LAPTOP)
    page.locator(f"{PAD} input.brush").fill(BOLD_BRUSH)
    draw_digit(page, MISREAD, MISREAD_BOX)
    shown = wait_for_the_pads_answer(page)  # both strokes answered: not the first one's bars
    first_answer = predicted_digit(shown)
    assert first_answer != MISREAD, "this drawing must be one the shipped model gets wrong"

    choose_meant(page, MISREAD)
    expect(page.locator("#draw-meant")).to_contain_text(
        f"You meant {MISREAD}", timeout=PREDICTION_TIMEOUT_MS
    )
    p_meant = next(bar["probability"] for bar in shown if bar["digit"] == MISREAD)
    loss_before = meant_loss(page)
    assert loss_before == pytest.approx(-math.log(p_meant), abs=0.02)  # -log p of the bars
    expect(page.locator("#draw-curve svg circle")).to_have_count(1)  # its point on the curve
    expect(page.locator("#draw-why figure")).to_have_count(0)  # closed: not computed
    page.get_by_text("Why this answer?").click()  # opened: answered from now on
    expect(page.locator("#draw-why figure")).to_have_count(2)  # maps: the top guess and the 4
    expect(page.locator("#draw-templates img")).to_have_count(0)  # not sent until opened
    page.get_by_text("Inside the network").click()
    expect(page.locator("#draw-inside")).to_contain_text("are exactly 0")
    expect(page.locator("#draw-templates img")).to_have_count(1)  # fc1 as 28x28 tiles
    save_screenshot(page, "draw-lesson-laptop", full_page=True)

    learn = page.get_by_role("button", name="Learn from this drawing (1 step)")
    for steps in range(1, 31):
        learn.click()
        expect(page.locator("#draw-model")).to_contain_text(
            f"after {steps} step{'s' if steps > 1 else ''} on your drawings",
            timeout=PREDICTION_TIMEOUT_MS,
        )
        if f"The network says {MISREAD} (" in headline_text(page):
            break
    expect(page.locator(ANSWER)).to_contain_text(
        f"The network says {MISREAD} (", timeout=PREDICTION_TIMEOUT_MS
    )
    assert meant_loss(page) < loss_before
    expect(page.locator("#learn-result")).to_contain_text("Held-out")
    save_screenshot(page, "draw-lesson-learnt", full_page=True)

    page.get_by_role("button", name="Reset to the shipped model").click()
    expect(page.locator("#draw-model")).to_contain_text("the shipped model")
    expect(page.locator(ANSWER)).to_contain_text(f"The network says {first_answer} (")


def headline_text(page) -> str:
    return page.locator(ANSWER).inner_text()


def test_the_lesson_panels_fit_a_phone(new_page):
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=3)
    draw_digit(page, 7, CENTERED)
    expect_headline(page, "The network says 7 (")
    choose_meant(page, 1)
    expect(page.locator("#draw-meant")).to_contain_text(
        "You meant 1", timeout=PREDICTION_TIMEOUT_MS
    )
    page_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert page_width <= PHONE["width"] + 1  # nothing forces sideways scrolling
    save_screenshot(page, "draw-lesson-phone", full_page=True)


def test_a_real_mnist_digit_needs_no_pointer_and_is_announced(new_page):
    page = new_page()
    answer = page.locator(ANSWER)
    expect(answer).to_have_attribute("aria-live", "polite")  # read out when it changes
    button = page.get_by_role("button", name="Show me a real MNIST digit instead")
    button.focus()
    page.keyboard.press("Enter")  # no mouse, no drawing
    expect(page.locator("#draw-sample")).to_contain_text("MNIST test digit #")
    expect(answer).to_contain_text("The network says", timeout=PREDICTION_TIMEOUT_MS)
    label = re.search(r"a (\d)\b", page.locator("#draw-sample figcaption").first.inner_text())
    expect(page.locator("#draw-meant")).to_contain_text(f"You meant {label.group(1)}")
