"""The Cross-entropy tab's tables and the Draw tab's numbers in real Chromium, at a phone's,
a laptop's and a projector's size (issue 14: M1, items 7 and 8, m3, m13).

Every number on screen is measured in the DOM: its text takes one line, it lies within the
screen's width (nothing to scroll sideways) and its cell does not clip it. Screenshots at
the three sizes go to test-artifacts/screenshots/ (git-ignored).

    MNIST_DATA_DIR=../shared/mnist .venv/bin/python -m pytest tests/test_browser_phone.py -q
"""

import math

import pytest

from mnist_demo.losses import LESSON_LOGITS
from mnist_demo.ui.cross_entropy_tables import BUG_LABEL

from browser_helpers import (
    ANSWER,
    BARS,
    CLEAR,
    PAD,
    PREDICTION_TIMEOUT_MS,
    bars,
    draw_digit,
    pad_ready,
    save_screenshot,
)
from drawings import CENTERED

try:  # without Playwright the `browser` fixture skips (locally) or fails (in CI)
    from playwright.sync_api import expect
except ImportError:
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
    "laptop": {"viewport": {"width": 1366, "height": 768}},
    # 1920x1080 at 150%: a 1280x720 CSS viewport, each CSS pixel 1.5 device pixels.
    "projector": {"viewport": {"width": 1280, "height": 720}, "device_scale_factor": 1.5},
}
MIN_FONT_PX = 12  # smaller is not "readable" on a phone
HEADERS = "th"  # the Draw tab's numbers table's column headers
LEFT_EDGES = "cells => cells.map(cell => cell.getBoundingClientRect().left)"

# Every cell whose text is a number, measured: the lines its text takes (its height over
# its line height), where it starts and ends on screen, and whether its cell clips it.
NUMBER_CELLS_JS = r"""
root => {
  const number = /^(1 − )?-?(\d+(\.\d+)?(e[-+]\d+)?|∞|inf|-inf|nan)$/;
  const cells = root.querySelectorAll('td, th, [role=gridcell], [role=columnheader]');
  return Array.from(cells).map(cell => {
    const text = cell.innerText.replace(/\u00a0/g, ' ').trim();
    const boxes = [];  // one per line (and per inline piece) of the cell's text
    let fontSize = Infinity;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      boxes.push(...Array.from(range.getClientRects()).filter(box => box.width > 0));
      fontSize = Math.min(fontSize, parseFloat(getComputedStyle(node.parentElement).fontSize));
    }
    boxes.sort((a, b) => a.top - b.top);
    const lines = boxes.filter((box, i) => i === 0 || box.top > boxes[i - 1].top + box.height / 2);
    const clipped = [cell, ...cell.querySelectorAll('*')].some(
      e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible');
    return {text, lines: lines.length, left: Math.min(...boxes.map(b => b.left)),
            right: Math.max(...boxes.map(b => b.right)), fontSize, clipped};
  }).filter(cell => number.test(cell.text));
}
"""


@pytest.fixture
def open_at(browser, launched_app, request):
    """open_at("phone") -> a page of the app in a new browser context of that size.
    A failing test leaves a screenshot of its pages in test-artifacts/screenshots/."""
    contexts = []
    failures_before = request.session.testsfailed

    def open_page(size: str):
        context = browser.new_context(**SIZES[size])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(launched_app)
        page.locator(BARS).wait_for(state="attached")  # pad_ready reads it at once
        pad_ready(page)
        return page

    yield open_page
    failed = request.session.testsfailed > failures_before
    for number, context in enumerate(contexts):
        for page in context.pages if failed else []:
            save_screenshot(page, f"failed-{request.node.name}-{number}", full_page=True)
        context.close()


# The lines the top guess's digit cell ("7 ◀ top") takes on screen.
TOP_MARK_LINES_JS = """
root => {
  const cell = Array.from(root.querySelectorAll('td')).find(td => td.innerText.includes('◀'));
  const range = document.createRange();
  range.selectNodeContents(cell);
  const boxes = Array.from(range.getClientRects()).filter(box => box.width > 0);
  return new Set(boxes.map(box => Math.round(box.top))).size;
}
"""


def assert_numbers_whole(page, selector: str, at_least: int) -> list[dict]:
    """Every number in `selector`'s tables on one line, inside the screen, not clipped."""
    width = page.viewport_size["width"]
    cells = page.locator(selector).evaluate(NUMBER_CELLS_JS)
    assert len(cells) >= at_least, f"{selector}: only {len(cells)} numbers found"
    for cell in cells:
        where = f"{selector}: {cell['text']!r}"
        assert cell["lines"] == 1, f"{where} breaks over {cell['lines']} lines"
        assert cell["left"] >= -1 and cell["right"] <= width + 1, f"{where} is off screen"
        assert not cell["clipped"], f"{where} is cut off"
        assert cell["fontSize"] >= MIN_FONT_PX, f"{where} is in {cell['fontSize']} px type"
    return cells


def assert_no_sideways_scrolling(page) -> None:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= page.viewport_size["width"] + 1


def open_cross_entropy(page) -> None:
    page.get_by_role("tab", name="Cross-entropy").click()
    page.get_by_label("range slider for P(cat)").wait_for(state="visible")


def open_logits(page) -> None:
    page.get_by_role("tab", name="Cross-entropy").click()
    page.get_by_role("tab", name="From logits").click()
    page.get_by_label("range slider for logit for 0").wait_for(state="visible")


def big_number(page, selector: str):
    return page.locator(f"{selector} h1")


def type_logit(page, digit: int, value: str) -> None:
    box = page.get_by_label(f"number input for logit for {digit}")
    box.fill(value)
    box.press("Enter")


def expected_loss(logits: list[float], true_class: int) -> str:
    """-log_softmax(logits)[true_class] in float64, as the tab prints it."""
    top = max(logits)
    log_sum = top + math.log(math.fsum(math.exp(z - top) for z in logits))
    return f"{log_sum - logits[true_class]:.4f}"


@pytest.mark.parametrize("size", list(SIZES))
def test_the_cross_entropy_tables_show_every_number_whole(open_at, size):
    """M1: the vector table, the three ways, the bug comparison, the ten logits (and the
    float32 comparison), each number on one line and on screen, at each size."""
    page = open_at(size)
    open_cross_entropy(page)
    page.get_by_label(BUG_LABEL).check()
    expect(page.locator("#ce-bug")).to_contain_text("with the bug", timeout=PREDICTION_TIMEOUT_MS)
    assert_numbers_whole(page, "#ce-vectors", at_least=8)  # 3 classes x 2, and the sums
    assert_numbers_whole(page, "#ce-three-ways", at_least=3)
    assert_numbers_whole(page, "#ce-bug", at_least=2)
    assert_no_sideways_scrolling(page)
    save_screenshot(page, f"cross-entropy-{size}", full_page=True)

    page.get_by_label("10 digits: 0-9").check()
    expect(page.locator("#ce-vectors")).to_contain_text("9", timeout=PREDICTION_TIMEOUT_MS)
    expect(page.locator("#ce-vectors tr")).to_have_count(12)  # header, ten digits, sum
    assert_numbers_whole(page, "#ce-vectors", at_least=30)

    open_logits(page)
    page.get_by_role("button", name="Big logits: 100 for 7, -100 for 3").click()
    expect(big_number(page, "#ce-logits-loss")).to_have_text("100.0000", timeout=20_000)
    assert_numbers_whole(page, "#ce-logits-table", at_least=33)  # 10 x 3, and the sums
    assert_numbers_whole(page, "#ce-stability", at_least=2)
    assert_numbers_whole(page, "#ce-logits-bug", at_least=2)
    assert_no_sideways_scrolling(page)
    save_screenshot(page, f"cross-entropy-logits-{size}", full_page=True)


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_big_logits_typed_or_slid_give_the_stable_loss_beside_the_naive_inf_and_nan(open_at, size):
    """Item 7: +-100 typed (logit 7) and slid (logit 3, to the slider's end with the End
    key): log_softmax's loss is finite, the formula as written gives inf, then nan."""
    page = open_at(size)
    open_logits(page)
    type_logit(page, 7, "100")
    slider = page.get_by_label("range slider for logit for 3")
    slider.focus()
    slider.press("Home")  # slid to the slider's left end: -100
    logits = list(LESSON_LOGITS)
    logits[7], logits[3] = 100.0, -100.0
    loss = big_number(page, "#ce-logits-loss")
    expect(loss).to_have_text(expected_loss(logits, 0), timeout=PREDICTION_TIMEOUT_MS)
    stability = page.locator("#ce-stability")
    expect(stability).to_contain_text("inf")  # exp(100) overflows: log(x / inf) = -inf
    expect(stability).to_contain_text("log-sum-exp")
    assert page.get_by_label("number input for logit for 3").input_value() == "-100"

    page.locator("#ce-logits-loss").scroll_into_view_if_needed()
    page.get_by_role("radio", name="7", exact=True).check()
    expect(stability).to_contain_text("nan", timeout=PREDICTION_TIMEOUT_MS)  # inf / inf
    expect(loss).not_to_contain_text("nan")
    save_screenshot(page, f"cross-entropy-big-logits-{size}")


def test_out_of_range_values_are_clamped_with_a_note_not_an_error(open_at):
    """m3: typing 5 for P(cat) gives the loss of 1, 150 for a logit the loss of 100; each
    says so and sets its box to the edge: no red error, no stale number."""
    page = open_at("laptop")
    open_cross_entropy(page)
    box = page.get_by_label("number input for P(cat)")
    box.fill("5")
    box.press("Enter")
    expect(page.locator("#ce-loss")).to_contain_text("P(cat) was 5", timeout=PREDICTION_TIMEOUT_MS)
    expect(big_number(page, "#ce-loss")).to_have_text(f"{-math.log(1 / 1.25):.4f}")
    expect(box).to_have_value("1")

    open_logits(page)
    type_logit(page, 3, "150")
    note = page.locator("#ce-logits-loss")
    expect(note).to_contain_text("logit for 3 was 150", timeout=PREDICTION_TIMEOUT_MS)
    logits = list(LESSON_LOGITS)
    logits[3] = 100.0
    expect(big_number(page, "#ce-logits-loss")).to_have_text(expected_loss(logits, 0))
    expect(page.get_by_label("number input for logit for 3")).to_have_value("100")
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_draw_numbers_are_whole_and_their_columns_stay_put(open_at, size):
    """Item 8 and M1 on the Draw tab: every number of the table whole on screen, the top
    guess marked, and the columns where they were after another drawing. The lesson
    panels fit too."""
    page = open_at(size)
    draw_digit(page, 7, CENTERED)
    expect(page.locator(ANSWER)).to_contain_text("The network says 7 (", timeout=20_000)
    table = page.locator("#draw-numbers")
    expect(table).to_contain_text("◀ top")
    assert table.evaluate(TOP_MARK_LINES_JS) == 1  # "7 ◀ top" on one line
    for bar in bars(page):  # what a screen reader hears: 4 digits, and never "1" for 0.99999
        said = bar["label"].split(": ")[1].split(",")[0]  # "0.9999", "2.411e-07"
        assert len(said.split("e")[0].replace(".", "").lstrip("0")) <= 4, said
        assert bar["probability"] < 1
    assert_numbers_whole(page, "#draw-numbers", at_least=30)
    columns = table.locator(HEADERS).evaluate_all(LEFT_EDGES)
    page.locator("#draw-meant-choice").get_by_label("1", exact=True).check()
    expect(page.locator("#draw-meant")).to_contain_text("You meant 1", timeout=20_000)
    assert_numbers_whole(page, "#draw-meant", at_least=3)
    assert_no_sideways_scrolling(page)
    save_screenshot(page, f"draw-numbers-{size}", full_page=True)

    page.locator(CLEAR).click()
    page.locator(PAD).scroll_into_view_if_needed()
    draw_digit(page, 1, CENTERED)
    expect(page.locator(ANSWER)).to_contain_text("The network says 1 (", timeout=20_000)
    expect(table).to_contain_text("1 ◀ top")
    after = table.locator(HEADERS).evaluate_all(LEFT_EDGES)
    assert after == pytest.approx(columns, abs=1)


# Every text of the bar chart: its rendered font size, and whether it lies inside the chart.
CHART_TEXTS_JS = """
svg => {
  const chart = svg.getBoundingClientRect();
  const scale = chart.width / svg.viewBox.baseVal.width;
  return Array.from(svg.querySelectorAll('text')).map(text => {
    const box = text.getBoundingClientRect();
    return {text: text.textContent, px: parseFloat(getComputedStyle(text).fontSize) * scale,
            inside: box.left >= chart.left - 1 && box.right <= chart.right + 1 &&
                    box.top >= chart.top - 1 && box.bottom <= chart.bottom + 1};
  });
}
"""


@pytest.mark.parametrize("size", list(SIZES))
def test_the_bars_fit_the_screen_and_their_text_is_readable(open_at, size):
    """The softmax bars scale to the screen: every number and digit at least 12 px, inside
    the chart, and the chart inside the screen's width."""
    page = open_at(size)
    draw_digit(page, 7, CENTERED)
    expect(page.locator(ANSWER)).to_contain_text("The network says 7 (", timeout=20_000)
    svg = page.locator(f"{BARS} svg.probability-bars")
    expect(svg.locator("text.bar-value")).to_have_count(10)
    texts = svg.evaluate(CHART_TEXTS_JS)
    assert len(texts) >= 25  # ticks, digits, the axis's title, ten numbers
    for text in texts:
        assert text["px"] >= MIN_FONT_PX, f"{text['text']!r} is in {text['px']:.1f} px type"
        assert text["inside"], f"{text['text']!r} sticks out of the chart"
    box = svg.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 1
    assert_no_sideways_scrolling(page)


def test_strokes_log_no_error_and_no_wrong_call_to_the_console(open_at):
    """m13: no "Too many arguments provided for the endpoint." on strokes, and no error."""
    page = open_at("laptop")
    messages = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    draw_digit(page, 7, CENTERED)
    expect(page.locator(ANSWER)).to_contain_text("The network says 7 (", timeout=20_000)
    page.locator(CLEAR).click()
    draw_digit(page, 1, CENTERED)
    expect(page.locator(ANSWER)).to_contain_text("The network says 1 (", timeout=20_000)
    page.evaluate("console.warn('the listener hears warnings')")
    expect(page.locator(ANSWER)).to_contain_text("The network says 1 (")  # (a round trip)
    assert "warning: the listener hears warnings" in messages
    assert [m for m in messages if "Too many arguments" in m or m.startswith("error")] == []
