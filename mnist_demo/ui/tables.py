"""Numbers as text, shown honestly, and tables that stay readable on a phone.

Every table of the Draw and Cross-entropy tabs prints its numbers with these, one format
per column:
- logits: 4 decimals, as the lesson prints them (0.7645, -25.0412);
- probabilities: 4 decimals; under 0.001 in scientific notation (6.6e-14), never "0"; from
  0.9995 on with the decimals it takes to show the gap to 1 (0.9999976), and past 8 decimals
  as 1 minus the gap (1 − 1.2e-43), never "1": softmax never reaches 0 or 1;
- log-probabilities: 4 decimals; nearer 0 than 0.001 in scientific notation (-2.4e-06).
Probabilities are printed from their logarithm (`losses.log_softmax_exact`), which keeps
the tiny rest of a sure answer that a float rounds away.

The tables are HTML inside gr.Markdown, which keeps inline styles: a number never breaks
inside its cell and code may wrap anywhere, so on a 390 px phone every number stays whole.
"""

import html
import math
from collections.abc import Sequence

NEAR_ZERO = 0.001  # below this a probability (or |log-probability|) is printed 6.6e-14
NEAR_ONE = 0.9995  # from here 4 decimals would say 1.0000: as many as it takes (0.9999976)
MAX_DECIMALS = 8  # beyond that, 1 − the rest (1 − 1.2e-43)
TOP_GUESS_MARK = "◀ top guess"
NBSP = "\u00a0"  # a space a line never breaks at: "1 − 2.4e-06" stays whole
TRUE_CLASS_MARK = "true class"

# A number's cell: on one line, right-aligned, digits of equal width so columns line up.
# Every cell: words wrap between words, never inside one (Gradio's tables may break a word
# anywhere, so a squeezed column printed "cat" as "ca / t"), and a phone-sized padding.
CELL_STYLE = "word-break:normal;overflow-wrap:normal;padding:0.4em 0.6em"
# A number's cell: on one line, right-aligned, digits of equal width so columns line up.
NUMBER_STYLE = (
    f"{CELL_STYLE};white-space:nowrap;text-align:right;vertical-align:middle;"
    "font-variant-numeric:tabular-nums"
)
NUMBER_HEADER_STYLE = f"{CELL_STYLE};text-align:right"  # a header may wrap between words
CAPTION_STYLE = "caption-side:top;text-align:left;font-weight:600;padding-bottom:0.4em"
CODE_STYLE = "white-space:pre-wrap;overflow-wrap:anywhere;word-break:normal"


def logit_text(value: float) -> str:
    """A logit to 4 decimals, never "-0.0000"."""
    return f"{round(value, 4) + 0.0:.4f}"


def probability_text(log_p: float) -> str:
    """A probability from its log: 0.1234, 6.6e-14 or 0.9999976, never a false 0 or 1."""
    p = math.exp(log_p)
    if p >= NEAR_ONE:
        rest = -math.expm1(log_p)  # 1 - p, exact even where p rounds to 1
        decimals = math.ceil(-math.log10(rest)) + 1 if rest > 0 else math.inf
        if decimals <= MAX_DECIMALS:  # enough decimals to show how far from 1 it is
            return f"{p:.{decimals}f}"
        return f"1{NBSP}−{NBSP}{rest:.1e}" if rest > 0 else "1"
    if p >= NEAR_ZERO:
        return f"{p:.4f}"
    return f"{p:.1e}" if p > 0 else "0"


def log_probability_text(log_p: float) -> str:
    """A log-probability: -30.3490, or -2.4e-06 near 0 (never a false 0)."""
    if log_p != 0 and abs(log_p) < NEAR_ZERO:
        return f"{log_p:.1e}"
    return float32_text(log_p)


def loss_text(value: float) -> str:
    """A loss to 4 decimals (under 0.001: 2.4e-06, never a false 0); infinity as the symbol."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if 0 < abs(value) < NEAR_ZERO:
        return f"{value:.1e}"
    return f"{round(value, 4) + 0.0:.4f}"


def float32_text(value: float) -> str:
    """A float32 result as torch prints the special ones: inf, -inf, nan; else 4 decimals."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{round(value, 4) + 0.0:.4f}"


def unbroken(text: str) -> str:
    """Text a line never breaks inside (a phone broke "-log(0.75)" after its minus sign)."""
    return f'<span style="white-space:nowrap">{html.escape(text)}</span>'


def named_code(name: str, code_text: str) -> str:
    """A table cell: what a line of code does, and the code on the line below."""
    return f"{html.escape(name)}<br>{code(code_text)}"


def code(text: str) -> str:
    """Code for a table cell: escaped, and free to wrap on a narrow screen."""
    return f'<code style="{CODE_STYLE}">{html.escape(text)}</code>'


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    numbers_from: int = 1,
    widths: Sequence[str] = (),
    caption: str = "",
) -> str:
    """An HTML table of ready-made cell HTML; columns from `numbers_from` on hold numbers.

    `widths` ("20%", ...) fix the columns: they stay put whatever the numbers, and the
    table fills its column. `caption` is the table's name (shown above it, and what a
    screen reader calls it). One line per row and no blank line, so Markdown passes it
    through as one HTML block.
    """

    def row(cells: Sequence[str], tag: str) -> str:
        numbers_style = NUMBER_STYLE if tag == "td" else NUMBER_HEADER_STYLE
        styles = [CELL_STYLE if i < numbers_from else numbers_style for i in range(len(cells))]
        styled = [
            f'<{tag} style="{style}">{cell}</{tag}>'
            for style, cell in zip(styles, cells, strict=True)
        ]
        return "<tr>" + "".join(styled) + "</tr>"

    lines = ['<table style="table-layout:fixed;width:100%">' if widths else "<table>"]
    if caption:
        lines.append(f'<caption style="{CAPTION_STYLE}">{html.escape(caption)}</caption>')
    if widths:
        lines += ["<colgroup>", *[f'<col style="width:{width}">' for width in widths]]
        lines.append("</colgroup>")
    lines += ["<thead>", row(header, "th"), "</thead>", "<tbody>"]
    lines += [row(cells, "td") for cells in rows]
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)
