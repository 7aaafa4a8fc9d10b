"""mnist_demo/bar_chart.py: ten probabilities as an SVG bar chart a screen reader can read."""

import xml.etree.ElementTree as ET

import pytest
import torch

from mnist_demo import bar_chart
from mnist_demo.bar_chart import bar_label, probability_bars

from html_outputs import read_bars

SVG = "{http://www.w3.org/2000/svg}"
TOP, REST = "#ab390b", "#6f95c4"


def chart(probabilities) -> ET.Element:
    """The chart parsed as XML (it must be well-formed to be an SVG at all)."""
    return ET.fromstring(probability_bars(probabilities, TOP, REST))


def test_each_bar_is_an_image_named_by_its_digit_and_probability():
    probabilities = torch.softmax(torch.tensor([1.0, 2, 9, 0, 0, 0, 0, 0, 0, 3]), dim=0).tolist()
    svg = chart(probabilities)
    rects = svg.findall(f"{SVG}rect")
    assert len(rects) == 10 and all(rect.get("role") == "img" for rect in rects)
    for rect in rects:  # the tooltip says what the screen reader says
        assert rect.find(f"{SVG}title").text == rect.get("aria-label")
    assert rects[2].get("aria-label") == f"digit 2: {probabilities[2]:.4g}, top guess"
    assert rects[9].get("aria-label") == f"digit 9: {probabilities[9]:.4g}"
    assert [rect.get("fill") for rect in rects] == [REST] * 2 + [TOP] + [REST] * 7
    assert svg.get("role") == "group" and "top guess 2" in svg.get("aria-label")


def test_it_scales_with_its_view_box():
    svg = chart([0.1] * 10)
    assert svg.get("viewBox") == f"0 0 {bar_chart.WIDTH} {bar_chart.HEIGHT}"
    assert svg.get("width") == "100%" and svg.get("height") is None


def test_nothing_drawn_is_ten_empty_bars_and_no_top_guess():
    svg = chart(None)
    bars = read_bars(probability_bars(None, TOP, REST))
    assert [bar["probability"] for bar in bars] == [0.0] * 10
    assert {bar["kind"] for bar in bars} == {"other digits"}
    assert {bar["height"] for bar in bars} == {0.0}
    assert "nothing drawn" in svg.get("aria-label")
    assert not [text for text in svg.iter(f"{SVG}text") if text.get("class") == "bar-value"]


def test_the_y_axis_runs_from_0_to_1_whatever_the_probabilities():
    low = read_bars(probability_bars([0.01] * 9 + [0.91], TOP, REST))
    high = read_bars(probability_bars([0.0] * 9 + [1.0], TOP, REST))
    full = bar_chart.HEIGHT - bar_chart.TOP - bar_chart.BOTTOM
    assert high[9]["height"] == pytest.approx(full)
    assert low[9]["height"] == pytest.approx(0.91 * full, abs=0.1)
    ticks = [text.text for text in chart(None).iter(f"{SVG}text")]
    assert {"0", "0.25", "0.5", "0.75", "1"} <= set(ticks)


def test_each_bar_shows_its_number_never_rounded_up_to_1():
    probabilities = [1e-7] * 9 + [1 - 9e-7]
    values = [text.text for text in chart(probabilities).iter(f"{SVG}text") if text.get("class")]
    assert values == ["1e-07"] * 9 + ["0.9999"]
    assert bar_label("3", 0.999997615814, True) == "digit 3: 0.9999, top guess"


def test_the_title_is_escaped():
    svg = probability_bars(None, TOP, REST, title='p <of> "each" digit')
    assert ET.fromstring(svg).get("aria-label").startswith('p <of> "each" digit')
