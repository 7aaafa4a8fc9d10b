"""Figures: built without pyplot, cheap, and showing what the app says they show."""

import io
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mnist_demo.constants import PROJECT_ROOT
from mnist_demo.plots import (
    CURRENT_LABEL_GID,
    CURRENT_POINT_GID,
    CURVE_DPI,
    CURVE_FIGSIZE,
    CURVE_LOSS_MAX,
    MAX_PLOT_POINTS,
    RUN_COLORS,
    confusion_frame,
    confusion_html,
    confusion_styler,
    cross_entropy_curve,
    run_color,
    smooth,
    thin,
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


# ---------------------------------------------------------------------------------------
# Training: curve and table data
# ---------------------------------------------------------------------------------------


def test_smoothing_starts_at_the_first_value_and_follows_a_constant():
    assert smooth([2.0])[0] == pytest.approx(2.0)
    assert smooth([1.0] * 50) == pytest.approx([1.0] * 50)
    smoothed = smooth([0.0, 10.0, 10.0, 10.0])
    assert 0.0 < smoothed[1] < smoothed[2] < smoothed[3] < 10.0


def test_thinning_spreads_the_points_and_keeps_the_last():
    assert thin(5).tolist() == [0, 1, 2, 3, 4]
    kept = thin(5000)
    assert len(kept) == MAX_PLOT_POINTS and kept[0] == 0 and kept[-1] == 4999
    assert (np.diff(kept) > 0).all()


def test_each_run_number_keeps_its_colour():
    assert [run_color(1), run_color(2)] == [RUN_COLORS[0], RUN_COLORS[1]]
    assert run_color(len(RUN_COLORS) + 1) == RUN_COLORS[0]  # round the palette again


def test_confusion_table_has_a_row_per_true_digit():
    confusion = torch.arange(100).view(10, 10)
    frame = confusion_frame(confusion)
    assert frame.shape == (10, 11) and frame["true"].tolist() == [str(d) for d in range(10)]
    assert frame["3"].tolist() == confusion[:, 3].tolist()  # predicted 3
    html = confusion_styler(confusion).to_html()
    assert "rgba(84, 162, 75" in html and "rgba(228, 87, 86" in html  # right green, wrong red
    table = confusion_html(confusion)
    assert 'class="confusion"' in table and table.count("<tr>") == 11  # header + 10 digits
    assert ">99<" in table and "row_heading" not in table  # no pandas index column
