"""The colours of the Draw and Cross-entropy tabs, checked with WCAG 2's contrast formula.

Text needs 4.5:1 against its background, a bar (a graphical object) 3:1 (WCAG 1.4.3 and
1.4.11). The bars that matter must also differ from the others in lightness, not only in
hue, so a greyscale print or a washed-out projector still tells them apart.
"""

import re

import pytest

from mnist_demo.ui import palette


def relative_luminance(color: str) -> float:
    """WCAG 2: the sRGB channels linearised, weighted 0.2126 R + 0.7152 G + 0.0722 B."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(first: str, second: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), the lighter colour's luminance on top: 1 to 21."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_formula_gives_wcags_own_figures():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the 4.5 grey
    # What the review measured on the page before (m11): Gradio's help text, the orange of
    # the selected tab and of the old true-class bars, and the old top-guess bar.
    assert contrast("#bbbbc2", "#ffffff") == pytest.approx(1.91, abs=0.02)
    assert contrast("#f97316", "#ffffff") == pytest.approx(2.80, abs=0.02)
    assert contrast("#e4572e", "#ffffff") == pytest.approx(3.68, abs=0.02)
    assert contrast("#e4572e", "#4c78a8") == pytest.approx(1.25, abs=0.02)


TEXT_ON = [
    (palette.HELP_TEXT, palette.LIGHT_BACKGROUND),
    (palette.SELECTED_TAB, palette.LIGHT_BACKGROUND),
    (palette.HELP_TEXT_DARK, palette.DARK_BACKGROUND),
    (palette.SELECTED_TAB_DARK, palette.DARK_BACKGROUND),
]


@pytest.mark.parametrize(("text", "background"), TEXT_ON)
def test_text_is_at_least_4_5_to_1(text, background):
    assert contrast(text, background) >= 4.5


def test_the_page_css_uses_only_the_checked_text_colours():
    """Every colour in READABLE_CSS (which app.py adds to the page) is one checked above."""
    used = set(re.findall(r"#[0-9a-fA-F]{6}", palette.READABLE_CSS))
    assert used and used <= {text for text, _ in TEXT_ON}


@pytest.mark.parametrize("bar", [palette.TOP_GUESS, palette.TRUE_CLASS, palette.OTHER])
@pytest.mark.parametrize("page", [palette.LIGHT_BACKGROUND, palette.DARK_BACKGROUND])
def test_every_bar_stands_out_from_the_page_light_or_dark(bar, page):
    assert contrast(bar, page) >= 3.0


@pytest.mark.parametrize("color", [palette.TOP_GUESS, palette.TRUE_CLASS])
def test_the_bars_that_matter_could_even_be_text_on_white(color):
    assert contrast(color, palette.LIGHT_BACKGROUND) >= 4.5


@pytest.mark.parametrize("bar", [palette.TOP_GUESS, palette.TRUE_CLASS])
def test_the_bars_that_matter_differ_from_the_others_in_lightness(bar):
    """Not only in hue: the old top-guess and other bars were 1.25:1 apart."""
    assert contrast(bar, palette.OTHER) >= 2.0


def test_each_colour_has_one_meaning():
    colours = [palette.TOP_GUESS, palette.TRUE_CLASS, palette.OTHER, palette.BEFORE]
    assert len(set(colours)) == len(colours)
