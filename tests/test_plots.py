"""Figures: built without pyplot, cheap, and showing what the app says they show."""

import io
import math
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mnist_demo.constants import PROJECT_ROOT
from mnist_demo.plots import (
    CURRENT_LABEL_GID,
    CURRENT_POINT_GID,
    CURVE_DPI,
    CURVE_FIGSIZE,
    CURVE_LOSS_MAX,
    cross_entropy_curve,
)


def _find(fig: Figure, gid: str) -> list:
    return fig.findobj(lambda artist: artist.get_gid() == gid)


def _pixels(fig: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()  # (H, W, 4)


def test_curve_marks_and_labels_the_current_point() -> None:
    fig = cross_entropy_curve(0.75, 0.2877)
    (point,) = _find(fig, CURRENT_POINT_GID)
    assert list(point.get_xdata()) == [0.75]
    assert list(point.get_ydata()) == [0.2877]
    (label,) = _find(fig, CURRENT_LABEL_GID)
    assert "p = 0.7500" in label.get_text()
    assert "loss = 0.2877" in label.get_text()


def test_curve_loss_defaults_to_minus_log_p() -> None:
    (point,) = _find(cross_entropy_curve(0.01), CURRENT_POINT_GID)
    assert point.get_ydata()[0] == pytest.approx(-math.log(0.01))


def test_perfect_prediction_reads_zero_not_minus_zero() -> None:
    (label,) = _find(cross_entropy_curve(1.0, -0.0), CURRENT_LABEL_GID)
    assert "loss = 0.0000" in label.get_text()


def test_loss_above_the_chart_is_pinned_to_the_top_and_explained() -> None:
    fig = cross_entropy_curve(0.0, 34.5388)  # p(true) = 0, epsilon-capped loss
    (point,) = _find(fig, CURRENT_POINT_GID)
    assert list(point.get_xdata()) == [0.0]
    assert list(point.get_ydata()) == [CURVE_LOSS_MAX]
    (label,) = _find(fig, CURRENT_LABEL_GID)
    assert "34.54" in label.get_text()
    assert "∞" in label.get_text()
    _pixels(fig)  # draws without error


def test_no_point_without_a_prediction() -> None:
    fig = cross_entropy_curve(None)
    assert _find(fig, CURRENT_POINT_GID) == []
    assert _find(fig, CURRENT_LABEL_GID) == []


def test_curve_renders_at_its_small_size_and_the_point_moves() -> None:
    left, right = _pixels(cross_entropy_curve(0.2)), _pixels(cross_entropy_curve(0.8))
    width, height = CURVE_FIGSIZE
    assert left.shape == (round(height * CURVE_DPI), round(width * CURVE_DPI), 4)
    assert (left != right).any(axis=-1).sum() > 100  # the marker and label moved
    # Without a point, the picture is the static chart: the curve, axes and notes are there.
    blank = _pixels(cross_entropy_curve(None))
    assert (blank[..., :3] < 200).any(axis=-1).sum() > 2000  # plenty of ink


def test_curve_saves_as_png_like_gradio_does() -> None:
    buffer = io.BytesIO()
    cross_entropy_curve(0.5).savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_never_imports_pyplot() -> None:
    code = (
        "import sys, io\n"
        "from mnist_demo.plots import cross_entropy_curve\n"
        "cross_entropy_curve(0.3).savefig(io.BytesIO(), format='png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)
