"""The HTML tables of mnist_demo/ui/tables.py read back as plain text, for the tests."""

import html
import re


def cell_text(cell: str) -> str:
    """A cell's text: tags dropped (a <br> becomes a space), entities and spaces made plain."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", cell)).replace("\xa0", " ")
    return " ".join(text.split())


def table_rows(text: str) -> list[list[str]]:
    """Every row of every table in `text` (header rows too), each a list of cell texts."""
    return [
        [cell_text(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", text, flags=re.S)
    ]


def row_of(text: str, first_cell: str) -> list[str]:
    """The one row whose first cell is `first_cell`."""
    (row,) = [row for row in table_rows(text) if row and row[0] == first_cell]
    return row
