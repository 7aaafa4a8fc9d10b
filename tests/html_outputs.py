"""The Draw tab's HTML outputs read back as data, as a test (or a script using the API) reads
them: the bar chart's bars from their accessible labels and shapes, the numbers table's
cells as text.

read_bars(view.bars)       # [{"digit": 7, "probability": 0.9999, "kind": "top guess", ...}]
read_table(view.numbers)   # Table(caption, headers, rows of texts, bold rows)
as_number("1 − 2.4e-06")   # a number as the table prints it
"""

from html.parser import HTMLParser
from typing import NamedTuple

TOP_GUESS_WORDS = "top guess"


def parse_bar_label(label: str) -> dict:
    """ "digit 7: 0.9999, top guess" -> {"digit": 7, "probability": 0.9999, "kind": ...}."""
    name, said = label.removeprefix("digit ").split(": ", 1)
    number, *kind = said.split(", ")
    return {
        "digit": int(name),
        "probability": float(number),
        "kind": TOP_GUESS_WORDS if kind == [TOP_GUESS_WORDS] else "other digits",
        "label": label,
    }


def as_number(text: str) -> float:
    """A number as the table prints it: "0.1234", "6.6e-14", "-2.4e-06" or "1 − 2.4e-06"."""
    text = text.replace("\xa0", " ")
    if text.startswith("1 − "):
        return 1.0 - float(text.removeprefix("1 − "))
    return float(text)


class Table(NamedTuple):
    caption: str
    headers: list[str]
    rows: list[list[str]]  # the body's cells as text, one list per row
    bold: list[bool]  # whether each body row is in bold


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bars: list[dict] = []
        self.rows: list[list[tuple[str, bool]]] = []
        self.caption: list[str] = []
        self._cell: list[str] | None = None
        self._cell_bold = False
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "rect" and attrs.get("role") == "img":
            shape = {key: float(attrs[key]) for key in ("x", "y", "width", "height")}
            self.bars.append(parse_bar_label(attrs["aria-label"]) | shape | {"fill": attrs["fill"]})
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell, self._cell_bold = [], False
        elif tag == "b" and self._cell is not None:
            self._cell_bold = True
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(("".join(self._cell).strip(), self._cell_bold))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption:
            self.caption.append(data)


def _read(markup: str) -> _Reader:
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader


def read_bars(markup: str) -> list[dict]:
    """The bars in digit order: digit, probability, kind, label, fill, x, y, width, height."""
    return sorted(_read(markup).bars, key=lambda bar: bar["digit"])


def read_table(markup: str) -> Table:
    """The first row is the header; every cell's text with its tags dropped."""
    reader = _read(markup)
    if not reader.rows:
        return Table("".join(reader.caption), [], [], [])
    header, *body = reader.rows
    return Table(
        "".join(reader.caption),
        [text for text, _ in header],
        [[text for text, _ in row] for row in body],
        [all(bold for _, bold in row) for row in body],
    )


def column(table: Table, name: str) -> list[str]:
    """A column's texts by the first word of its header ("softmax (sum 1.0000)": softmax)."""
    names = [header.replace("\u200b", "").split()[0] for header in table.headers]
    return [row[names.index(name)] for row in table.rows]
