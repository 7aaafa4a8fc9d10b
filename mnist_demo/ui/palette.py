"""The colours of the Draw and Cross-entropy tabs: one meaning per colour, on every tab.

- TOP_GUESS, dark orange: the network's answer, the digit with the largest probability
  (the Draw tab's bars).
- TRUE_CLASS, dark green: the right answer, the true class or the digit the student meant
  (the From-logits bars, the before/after bars of "Learn from this drawing").
- OTHER, light blue: every other digit.
The two that matter are darker than the others (2:1 apart in lightness, not only in hue),
so a washed-out projector or a greyscale print still tells them apart, and words name
them too (the headline, the tables' marks, the legends): colour is never the only sign.
Every bar stands 3:1 out of a white page and of Gradio's dark one.

READABLE_CSS is page-wide CSS these tabs need. Gradio's help text under a control and the
selected tab's label are too faint on white (1.9:1 and 2.8:1; text needs 4.5:1): app.py adds
READABLE_CSS to its own CSS. tests/test_palette.py computes every contrast ratio.
"""

TOP_GUESS = "#ab390b"  # dark orange
TRUE_CLASS = "#126e34"  # dark green
OTHER = "#6f95c4"  # light blue
BEFORE = "#9ca3af"  # grey: "before" in the before/after bars (drawn faint, beside OTHER)

# Text on the page (light theme, then dark theme), at least 4.5:1 on the background.
HELP_TEXT = "#52525b"
HELP_TEXT_DARK = "#a1a1aa"
SELECTED_TAB = "#c2410c"
SELECTED_TAB_DARK = "#fb923c"
LIGHT_BACKGROUND = "#ffffff"
DARK_BACKGROUND = "#0f0f11"  # Gradio 6.31 dark theme page, measured in Chromium

READABLE_CSS = f"""
:root {{ --block-info-text-color: {HELP_TEXT}; }}
.dark {{ --block-info-text-color: {HELP_TEXT_DARK}; }}
button[role="tab"][aria-selected="true"] {{ color: {SELECTED_TAB}; }}
.dark button[role="tab"][aria-selected="true"] {{ color: {SELECTED_TAB_DARK}; }}
"""


def swatch(color: str, words: str) -> str:
    """A legend entry: a coloured square, then its meaning in the page's own text colour."""
    return f'<span style="color:{color}" aria-hidden="true">■</span> {words}'
