"""The launched app, through gradio_client: what a browser or an API user gets."""

import pytest
from gradio_client import Client

from drawings import CENTERED, SMALL_CORNER, canvas_data_url, draw_layer
from html_outputs import as_number, column, read_bars, read_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(launched_app):
    return Client(launched_app, verbose=False)


@pytest.mark.parametrize(
    "digit, box", [(7, CENTERED), (0, SMALL_CORNER), (1, (150, 120, 260, 270))]
)
def test_predict_answers_a_drawn_digit(client, digit, box):
    radius = 4 if box == SMALL_CORNER else 10
    headline, bars, seen, numbers, *lesson_panels = client.predict(
        canvas_data_url(draw_layer(digit, box, brush_radius=radius)), api_name="/predict"
    )
    assert f"**{digit}**" in headline
    probabilities = [bar["probability"] for bar in read_bars(bars)]  # the SVG's bars
    assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1.0, abs=1e-3)
    assert max(range(10), key=probabilities.__getitem__) == digit
    assert seen.startswith("<img")  # the 28x28 picture, inline
    table = read_table(numbers)  # every probability, also the tiny ones, as text
    assert [text.split()[0] for text in column(table, "digit")] == [str(d) for d in range(10)]
    softmax = [as_number(text) for text in column(table, "softmax")]
    assert max(range(10), key=softmax.__getitem__) == digit
    assert softmax == pytest.approx(probabilities, rel=1e-3, abs=1e-4)


@pytest.mark.parametrize("cleared", ["", None], ids=["pad-cleared", "api-none"])
def test_cleared_canvas_asks_for_a_digit(client, cleared):
    headline, bars, seen, *_ = client.predict(cleared, api_name="/predict")
    assert "Draw a digit" in headline
    assert "<img" not in seen
    assert [bar["probability"] for bar in read_bars(bars)] == [0.0] * 10


def test_endpoints_are_named(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/predict" in endpoints and "/cross_entropy" in endpoints
