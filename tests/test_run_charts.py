"""The Train tab's charts: ticks that never collide, the guessing line, clipping, labels."""

import math
import re

from mnist_demo.run_charts import (
    GUESSING_LOSS,
    HEIGHT,
    LOSS_TOP,
    TOP,
    RunCurves,
    accuracy_chart,
    legend_html,
    loss_chart,
    nice_step,
    step_label,
)


def points(svg: str, kind: str) -> list[list[tuple[float, float]]]:
    lines = re.findall(rf'class="run-line {kind}" points="([^"]+)"', svg)
    return [[tuple(map(float, p.split(","))) for p in line.split()] for line in lines]


def test_step_ticks_are_short_and_round():
    assert [nice_step(x) for x in (938, 100, 10_000, 7)] == [200, 20, 2000, 2]
    assert [step_label(x) for x in (0, 950, 1000, 1500, 10_000)] == [
        "0", "950", "1k", "1.5k", "10k",
    ]  # fmt: skip
    svg = loss_chart([RunCurves("#1 Adam lr 0.001", "#4c78a8", [2.3] * 938)])
    ticks = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert "9501,000" not in "".join(ticks) and "1k" in ticks


def test_training_solid_test_dashed_and_guessing_marked():
    run = RunCurves("#1 Adam lr 0.001", "#4c78a8", [2.3, 1.0, 0.5], [0, 3], [2.3, 0.6], [0.1, 0.8])
    svg = loss_chart([run])
    assert len(points(svg, "train")) == 1 and len(points(svg, "test")) == 1
    assert 'stroke-dasharray="7 5"' in svg  # the test loss
    assert "guessing: ln 10 = 2.30" in svg and math.isclose(GUESSING_LOSS, 2.302585, rel_tol=1e-6)
    assert ">#1<" in svg  # the run's number at the end of its line
    assert "guessing: 10%" in accuracy_chart([run])


def test_a_run_that_blows_up_does_not_flatten_the_others():
    calm = RunCurves("#1", "#4c78a8", [2.3, 1.0, 0.2])
    blown = RunCurves("#2", "#f58518", [2.3, 50.0, 1e6, math.inf])
    svg = loss_chart([calm, blown])
    calm_line, blown_line = points(svg, "train")
    assert min(y for _, y in blown_line) >= TOP - 0.01  # drawn along the top edge
    # The axis stays 0..LOSS_TOP: the calm run's fall (2.3 to ~1.05 smoothed) spans a
    # good part of the chart's height instead of a sliver at its bottom.
    assert LOSS_TOP == 3.0 and calm_line[-1][1] - calm_line[0][1] > (HEIGHT - TOP) / 4


def test_the_legend_names_every_run_in_its_colour_and_escapes_text():
    runs = [RunCurves("#1 Adam <b>", "#4c78a8", [1.0]), RunCurves("#2 SGD", "#f58518", [1.0])]
    legend = legend_html(runs)
    assert legend.count('class="swatch"') == 2 and "#f58518" in legend
    assert "&lt;b&gt;" in legend and "<b>" not in legend
    assert "test loss" in legend and "test loss" not in legend_html(runs, with_test=False)


def test_a_run_at_step_zero_and_no_runs_draw_empty_axes():
    starting = RunCurves("#1", "#4c78a8", [], [0], [2.3], [0.1])
    assert 'class="run-line test"' in loss_chart([starting])
    assert "run-line" not in loss_chart([]) and "<svg" in accuracy_chart([])


def test_run_numbers_never_overlap_each_other_or_the_step_ticks():
    runs = [RunCurves(f"#{i}", "#4c78a8", [2.3, 0.01]) for i in range(1, 5)]
    ys = [
        float(y)
        for y in re.findall(r'class="run-number" x="[\d.]+" y="([\d.]+)"', loss_chart(runs))
    ]
    assert len(ys) == 4 and all(b - a >= 15 - 1e-6 for a, b in zip(ys, ys[1:], strict=False))
    assert max(ys) <= HEIGHT - 46  # above the tick labels
