"""The Draw tab's per-stroke pictures: right colours, right places, valid SVG."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from mnist_demo.pictures import (
    AWAY_COLOR,
    CURVE_SVG_MARGINS,
    GRID_PAD_COLOR,
    TILE_GAP_COLOR,
    TOWARDS_COLOR,
    activation_grid,
    legend_bar,
    loss_curve_svg,
    signed_map,
    template_tiles,
)
from mnist_demo.plots import CURRENT_LABEL_GID, CURRENT_POINT_GID, CURVE_LOSS_MAX

WHITE = [255, 255, 255]


def _rgb(hex_color: str) -> list[int]:
    return [int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]


def _faded(hex_color: str, strength: float) -> np.ndarray:
    """The colour `strength` of the way from white to `hex_color` (the reference)."""
    return 255 - strength * (255 - np.array(_rgb(hex_color), dtype=float))


def test_signed_map_colours_follow_the_sign_and_zero_is_white() -> None:
    values = torch.zeros(28, 28)
    values[3, 4], values[5, 6] = 2.0, -2.0
    picture = signed_map(values)
    assert picture.shape == (28, 28, 3) and picture.dtype == np.uint8
    assert picture[3, 4].tolist() == _rgb(TOWARDS_COLOR)  # pushes towards the digit
    assert picture[5, 6].tolist() == _rgb(AWAY_COLOR)  # pushes away
    assert picture[0, 0].tolist() == WHITE


def test_signed_map_scale_is_symmetric() -> None:
    values = np.zeros((28, 28))
    values[0, 0], values[0, 1] = 2.0, -1.0  # the limit is max |value| = 2, both ways
    picture, negative = signed_map(values), signed_map(-values)
    assert picture[0, 0].tolist() == _rgb(TOWARDS_COLOR)
    assert picture[0, 1] == pytest.approx(_faded(AWAY_COLOR, 0.5), abs=0.5)  # half, not full
    assert negative[0, 0].tolist() == _rgb(AWAY_COLOR)  # a map's negative swaps the colours
    assert negative[0, 1] == pytest.approx(_faded(TOWARDS_COLOR, 0.5), abs=0.5)
    # Random maps against the reference, pixel by pixel, both signs.
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(28, 28, generator=generator).numpy()
    limit = np.abs(values).max()
    for sign in (1, -1):
        picture = signed_map(sign * values)
        for (row, column), value in np.ndenumerate(sign * values):
            colour = TOWARDS_COLOR if value >= 0 else AWAY_COLOR
            expected = _faded(colour, abs(value) / limit)
            assert picture[row, column] == pytest.approx(expected, abs=0.5)


def test_signed_map_takes_a_limit_and_saturates_beyond_it() -> None:
    values = np.zeros((28, 28))
    values[0, 0], values[0, 1] = 1.0, -9.0
    picture = signed_map(values, limit=2.0)
    assert picture[0, 0] == pytest.approx(_faded(TOWARDS_COLOR, 0.5), abs=0.5)
    assert picture[0, 1].tolist() == _rgb(AWAY_COLOR)


def test_zero_map_is_white_without_dividing_by_zero() -> None:
    with np.errstate(all="raise"):  # a division by zero would raise here
        assert (signed_map(torch.zeros(28, 28)) == 255).all()
        assert (signed_map(np.zeros((28, 28)), limit=0.0) == 255).all()


def test_signed_map_takes_a_tensor_that_requires_grad() -> None:
    values = torch.ones(28, 28, requires_grad=True)
    assert (signed_map(values * 1.0) == _rgb(TOWARDS_COLOR)).all()


def test_legend_bar_runs_from_away_through_white_to_towards() -> None:
    bar = legend_bar(3.0, width=101, height=10)
    assert bar.shape == (10, 101, 3) and bar.dtype == np.uint8
    assert bar[:, 0].tolist() == [_rgb(AWAY_COLOR)] * 10
    assert bar[:, 50].tolist() == [WHITE] * 10
    assert bar[:, -1].tolist() == [_rgb(TOWARDS_COLOR)] * 10
    assert (bar == bar[0]).all()  # every row the same


def test_activation_grid_is_8_by_16_for_128_units_brightest_at_the_largest() -> None:
    activations = torch.relu(torch.randn(128, generator=torch.Generator().manual_seed(1)))
    grid = activation_grid(activations)
    assert grid.shape == (8, 16, 3) and grid.dtype == np.uint8
    grey = grid[..., 0].reshape(-1)  # (128,) in unit order, row by row
    assert (grid == grid[..., :1]).all()  # grey levels: R = G = B
    assert grey.argmax() == activations.argmax()
    assert grey.max() == 255
    assert (grey[(activations == 0).numpy()] == 0).all()  # units cut off by ReLU are black
    expected = np.rint(activations.numpy() / activations.max().item() * 255)
    assert grey == pytest.approx(expected, abs=0.5)


def test_activation_grid_pads_the_last_row_for_any_width() -> None:
    grid = activation_grid(np.arange(100, dtype=float))
    assert grid.shape == (7, 16, 3)  # 100 = 6 full rows of 16 and 4 units
    assert grid[6, 3].tolist() == WHITE  # unit 99, the largest
    assert grid[6, 4:].tolist() == [_rgb(GRID_PAD_COLOR)] * 12  # no unit there
    assert activation_grid(np.ones(8)).shape == (1, 8, 3)
    assert activation_grid(np.ones(1024)).shape == (64, 16, 3)
    with np.errstate(all="raise"):
        assert (activation_grid(np.zeros(128)) == 0).all()  # all cut off: all black


def test_template_tiles_make_a_mosaic_with_gaps_each_tile_on_its_own_scale() -> None:
    generator = torch.Generator().manual_seed(2)
    pattern = torch.randn(28, 28, generator=generator)
    templates = torch.stack([pattern * (k + 1) for k in range(128)])  # (128, 28, 28)
    mosaic = template_tiles(templates)
    assert mosaic.shape == (8 * 28 + 7, 16 * 28 + 15, 3) and mosaic.dtype == np.uint8
    first = mosaic[:28, :28]
    assert (first == signed_map(pattern)).all()
    last = mosaic[7 * 29 : 7 * 29 + 28, 15 * 29 : 15 * 29 + 28]  # unit 127, 128 times larger
    assert (last == first).all()  # its own scale: the same picture
    gap = _rgb(TILE_GAP_COLOR)
    assert mosaic[28, :].tolist() == [gap] * mosaic.shape[1]  # a gap row after tile row 0
    assert mosaic[:, 28].tolist() == [gap] * mosaic.shape[0]  # a gap column
    # The layer's own (hidden, 784) weight matrix works too, and a short last row is padded.
    weights = torch.randn(100, 784, generator=generator, requires_grad=True)
    mosaic = template_tiles(weights)
    assert mosaic.shape == (7 * 28 + 6, 16 * 28 + 15, 3)
    assert (mosaic[6 * 29 :, 4 * 29 :] == gap).all()  # no tiles after unit 99
    assert (mosaic[:28, 29:57] == signed_map(weights[1].view(28, 28))).all()


def _svg_point(p: float, loss: float, width: int = 320, height: int = 200) -> tuple[float, float]:
    """Where (p, loss) belongs: p = 0..1 across the plot, loss = 0..7 up it."""
    left, right, top, bottom = CURVE_SVG_MARGINS
    x = left + p * (width - left - right)
    y = height - bottom - loss / CURVE_LOSS_MAX * (height - top - bottom)
    return x, y


def _by_class(svg: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in svg.iter() if element.get("class") == name]


def test_loss_curve_svg_parses_and_marks_the_point_where_it_belongs() -> None:
    svg = ET.fromstring(loss_curve_svg(0.25, -math.log(0.25)))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("role") == "img"
    assert "p = 0.25, loss = 1.39" in svg.get("aria-label")
    (point,) = _by_class(svg, CURRENT_POINT_GID)
    x, y = _svg_point(0.25, -math.log(0.25))
    assert float(point.get("cx")) == pytest.approx(x, abs=0.06)
    assert float(point.get("cy")) == pytest.approx(y, abs=0.06)
    (label,) = _by_class(svg, CURRENT_LABEL_GID)
    assert "".join(label.itertext()) == "p = 0.25, loss = 1.39"
    text = " ".join("".join(element.itertext()) for element in svg.iter())
    assert "p = softmax(logits)[chosen digit]" in text and "loss = -log(p)" in text


def test_loss_curve_svg_loss_defaults_to_minus_log_p() -> None:
    svg = ET.fromstring(loss_curve_svg(0.031))
    (point,) = _by_class(svg, CURRENT_POINT_GID)
    assert float(point.get("cy")) == pytest.approx(_svg_point(0.031, -math.log(0.031))[1], abs=0.06)
    assert "p = 0.031, loss = 3.47" in svg.get("aria-label")


def test_loss_curve_svg_pins_a_huge_loss_to_the_top() -> None:
    for p, loss in ((0.0, 34.5388), (0.0, None), (1e-9, 20.7)):
        svg = ET.fromstring(loss_curve_svg(p, loss))
        (point,) = _by_class(svg, CURRENT_POINT_GID)
        top = CURVE_SVG_MARGINS[2]
        assert float(point.get("cy")) == pytest.approx(top)  # = the loss axis' 7
        assert float(point.get("cx")) == pytest.approx(_svg_point(p, 0.0)[0], abs=0.06)
        assert "above the chart" in svg.get("aria-label")
    (label,) = _by_class(ET.fromstring(loss_curve_svg(0.0, 34.5388)), CURRENT_LABEL_GID)
    assert "loss = 34.54" in "".join(label.itertext())


def test_loss_curve_svg_without_a_point_draws_the_curve_only() -> None:
    svg = ET.fromstring(loss_curve_svg(None, None))
    assert _by_class(svg, CURRENT_POINT_GID) == [] and _by_class(svg, CURRENT_LABEL_GID) == []
    assert svg.get("role") == "img" and "-log(p)" in svg.get("aria-label")
    (curve,) = [
        line
        for line in svg.iter("{http://www.w3.org/2000/svg}polyline")
        if line.get("stroke-width")
    ]
    assert len(curve.get("points").split()) == 120


def test_loss_curve_svg_reads_zero_not_minus_zero_and_refuses_a_non_probability() -> None:
    assert "loss = 0.00" in loss_curve_svg(1.0, -0.0)
    with pytest.raises(ValueError, match="probability"):
        loss_curve_svg(1.5, 0.1)
