"""Measuring a drawing's strokes with a distance transform; bold small digits read right."""

import numpy as np
import pytest

from mnist_demo.predict import predict
from mnist_demo.stroke_width import MAX_MEASURED_RATIO, distance_to, even_strokes, stroke_width
from mnist_demo.ui.drawing_pad import BRUSH_RANGE, BRUSH_SIZE

from drawings import render_strokes, stroke_points


def brute_force_distance(targets: np.ndarray) -> np.ndarray:
    """The distance from every pixel to every target, the smallest kept: slow but plain."""
    rows, cols = np.nonzero(targets)
    grid_rows, grid_cols = np.mgrid[0 : targets.shape[0], 0 : targets.shape[1]]
    squared = (grid_rows[..., None] - rows) ** 2 + (grid_cols[..., None] - cols) ** 2
    return np.sqrt(squared.min(axis=-1))


def test_distance_transform_is_the_nearest_target_by_brute_force():
    targets = np.random.default_rng(0).random((17, 23)) < 0.08
    assert np.allclose(distance_to(targets), brute_force_distance(targets))


def test_distance_transform_is_exact_up_to_its_limit():
    targets = np.zeros((30, 40), bool)
    targets[5, 7] = targets[22, 31] = targets[29, :] = True  # a target in every column
    brute = brute_force_distance(targets)
    assert np.allclose(distance_to(targets), brute)
    near = brute <= 4
    limited = distance_to(targets, limit=4)
    assert np.allclose(limited[near], brute[near]) and (limited[~near] > 4).all()


def test_distance_to_nothing_is_infinite():
    assert np.isinf(distance_to(np.zeros((3, 4), bool))).all()


LINE = [[(80, 140), (200, 140)]]  # a horizontal pen path, 120 px long
SLOPE = [[(60, 220), (220, 60)]]  # a slope at 45 degrees, 226 px long
ARC = [[(140 + 90 * np.cos(t), 140 + 90 * np.sin(t)) for t in np.linspace(0, 4, 40)]]


@pytest.mark.parametrize("path", [LINE, SLOPE, ARC], ids=["line", "slope", "arc"])
@pytest.mark.parametrize("radius", [2, 4, 8, 12, 20, 24])
def test_stroke_width_of_a_brush_line_is_its_diameter(path, radius):
    """Within a pixel and a half: on a grid of pixels a slanted edge is a staircase."""
    mask = render_strokes(path, brush_radius=radius, supersample=2)[:, :, 3] > 127
    assert stroke_width(mask) == pytest.approx(2 * radius, abs=1.5)


def test_ink_too_faint_to_measure_is_left_as_it_is():
    faint = np.full((10, 12), 0.3, np.float32)
    strokes = even_strokes(faint)
    assert strokes.ink is faint and not strokes.changed


THINNEST, BOLDEST = BRUSH_RANGE  # the pad's slider


@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("radius", [THINNEST, BRUSH_SIZE, BOLDEST])
def test_digits_under_half_the_pad_are_read_right_with_any_brush(digit, radius):
    """47% of the pad's height, in a corner, with the thinnest, default and boldest brush."""
    strokes = stroke_points(digit, (150, 130, 240, 262))
    assert predict(render_strokes(strokes, brush_radius=radius, supersample=2)).digit == digit


@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("radius", [BOLDEST - 4, BOLDEST])
def test_small_bold_digits_are_no_longer_read_as_8_or_9(digit, radius):
    """A quarter of the pad's height with the two boldest brushes: 2, 3 and 5 used to be read
    as 8 or 3, and 4 as 9 (issue 16)."""
    strokes = stroke_points(digit, (110, 90, 165, 162))
    assert predict(render_strokes(strokes, brush_radius=radius, supersample=2)).digit == digit


def test_a_blob_is_measured_as_drawn_but_thinned_no_more_than_a_bold_stroke():
    """A filled disc: its 'stroke' is as wide as the disc; thinning it by all of that would
    leave a dot, so it is thinned as the boldest stroke would be."""
    disc = render_strokes([[(140, 140)]], brush_radius=60, supersample=2)[:, :, 3] / 255
    rows, cols = np.nonzero(disc > 0.15)
    strokes = even_strokes(disc[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])
    assert strokes.ratio > MAX_MEASURED_RATIO and strokes.changed
    assert strokes.width == pytest.approx(120, abs=3)
    assert (strokes.ink > 0.5).any()
