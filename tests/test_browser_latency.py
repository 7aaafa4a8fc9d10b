"""benchmarks/browser_latency.py's pure helpers: a stroke's timings from the page's log,
the digits drawn, the floor app's answers, Chrome's trace summed into self times, the
metrics' growth. No browser."""

import importlib.util

import pytest

from mnist_demo.constants import PROJECT_ROOT

_spec = importlib.util.spec_from_file_location(
    "browser_latency", PROJECT_ROOT / "benchmarks" / "browser_latency.py"
)
browser_latency = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser_latency)


def page_log(**changes) -> dict:
    """A stroke as the page logs it (performance.now() ms): up, request, answer, DOM, paint."""
    log = {
        "up": 1000.0,
        "joins": [{"sent": 1012.0, "joined": 1020.0}],
        "answers": [1060.0],
        "changes": [1070.0, 1085.0],
        "painted": 1101.0,
    }
    return log | changes


def test_a_stroke_is_timed_from_pointer_up_to_the_paint_after_its_last_change():
    steps = browser_latency.stroke_steps(page_log())
    assert steps == {
        "total": 101.0,
        "up->sent": 12.0,
        "sent->answer": 48.0,
        "answer->DOM": 25.0,
        "DOM->painted": 16.0,
    }
    assert sum(steps[step] for step in browser_latency.STEPS) == steps["total"]


def test_the_last_answer_counts_and_a_request_sent_before_pointer_up_does_not():
    log = page_log(
        joins=[{"sent": 990.0, "joined": 995.0}, {"sent": 1030.0, "joined": 1040.0}],
        answers=[1001.0, 1070.0],
        changes=[1080.0],
        painted=1090.0,
    )
    steps = browser_latency.stroke_steps(log)
    assert steps["up->sent"] == 30.0
    assert steps["sent->answer"] == 40.0


@pytest.mark.parametrize(
    "missing",
    [
        {"up": None},
        {"joins": []},
        {"joins": [{"sent": 900.0, "joined": 950.0}]},  # only a request from before
        {"answers": []},
        {"changes": []},
        {"painted": None},
    ],
)
def test_a_stroke_missing_a_point_is_not_timed(missing):
    assert browser_latency.stroke_steps(page_log(**missing)) is None


def test_every_block_of_twenty_digits_draws_the_same_twenty_drawings():
    first = [browser_latency.drawing_of(n) for n in range(20)]
    assert len(set(first)) == 20
    for start in (20, 40, 100):
        assert [browser_latency.drawing_of(n) for n in range(start, start + 20)] == first


def test_block_medians_cover_every_digit_in_blocks_of_twenty():
    strokes = [{"digit": d, "phase": "idle", "total": float(d)} for d in range(1, 61)]
    strokes += [{"digit": 1, "phase": "load", "total": 1e6}]  # another phase: left out
    blocks = browser_latency.block_medians(strokes, "idle", 60)
    assert [(a, b) for a, b, _ in blocks] == [(1, 20), (21, 40), (41, 60)]
    medians = [m for _, _, m in blocks]
    assert medians[0] in (10.0, 11.0) and medians[2] in (50.0, 51.0)
    assert browser_latency.block_medians(strokes, "idle", 25)[-1][:2] == (21, 25)


def test_block_steps_give_each_steps_median_per_block():
    strokes = [
        {
            "digit": d,
            "phase": "idle",
            **{step: float(d * (i + 1)) for i, step in enumerate(browser_latency.STEPS)},
        }
        for d in range(1, 41)
    ]
    strokes += [{"digit": 1, "phase": "load", **dict.fromkeys(browser_latency.STEPS, 1e6)}]
    text = browser_latency.block_steps(strokes, "idle", 40)
    first, second = text.split("  ")
    assert first.startswith("1-20: ") and second.startswith("21-40: ")
    medians = [float(v) for v in second.removeprefix("21-40: ").split(" / ")]
    assert medians[1] == pytest.approx(2 * medians[0]) and medians[3] == pytest.approx(
        4 * medians[0]
    )
    assert 30 <= medians[0] <= 31  # the median of digits 21-40, not of all


def trace_event(name, ts, dur, tid=1, pid=7):
    return {"name": name, "ph": "X", "ts": ts, "dur": dur, "pid": pid, "tid": tid}


def test_self_time_is_an_events_duration_less_that_of_the_events_nested_in_it():
    events = [
        trace_event("RunTask", 0, 100_000),  # 100 ms
        trace_event("FunctionCall", 10_000, 30_000),
        trace_event("Layout", 20_000, 10_000),  # inside FunctionCall
        trace_event("Paint", 50_000, 10_000),
        trace_event("RunTask", 200_000, 5_000),
        trace_event("Layout", 0, 40_000, tid=2),  # another thread: not nested
        {"name": "thread_name", "ph": "M", "pid": 7, "tid": 1},
    ]
    times = browser_latency.self_times(events)
    assert times == pytest.approx(
        {"RunTask": 60.0 + 5.0, "FunctionCall": 20.0, "Layout": 10.0 + 40.0, "Paint": 10.0}
    )
    assert sum(times.values()) == pytest.approx(105.0 + 40.0)


def test_the_trace_is_read_on_the_busiest_renderer_main_thread():
    def name(pid, tid, thread):
        return {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": thread}}

    events = [
        name(1, 1, "CrRendererMain"),
        name(2, 1, "CrRendererMain"),
        name(2, 5, "Compositor"),
        trace_event("RunTask", 0, 10, pid=1, tid=1),
        trace_event("RunTask", 0, 500, pid=2, tid=1),
        trace_event("RunTask", 0, 9_999, pid=2, tid=5),
    ]
    chosen = browser_latency.renderer_events({"traceEvents": events})
    assert {(e["pid"], e["tid"]) for e in chosen} == {(2, 1)}
    assert browser_latency.renderer_events({"traceEvents": []}) == []


def test_metric_growth_says_what_grew_in_each_metrics_unit():
    before = {"Nodes": 1000, "JSHeapUsedSize": 20e6, "LayoutDuration": 0.5, "Other": 1}
    after = {"Nodes": 3500, "JSHeapUsedSize": 25.5e6, "LayoutDuration": 1.25}
    assert browser_latency.metric_growth(before, after) == [
        "Nodes: 1,000 -> 3,500 (+2,500)",
        "JSHeapUsedSize: 20.0 -> 25.5 MB (+5.5)",
        "LayoutDuration: 0.50 -> 1.25 s (+0.75)",
    ]


def test_both_apps_get_the_run_history_the_app_is_served_with_by_default():
    """The bare echo is compared like with like: by default it keeps Gradio's run history
    only if app.py's launch options do (they do not since issue 16)."""
    from mnist_demo.ui.app import launch_options

    assert browser_latency.kept_run_history("as-served") is launch_options()["run_history"]
    assert browser_latency.kept_run_history("kept") is True
    assert browser_latency.kept_run_history("off") is False


@pytest.mark.parametrize("panels", [False, True])
def test_the_floor_replays_the_draw_tabs_own_answers_to_the_drawings_stroke_by_stroke(panels):
    """The floor app shows what the Draw tab would show for each stroke drawn, so it costs
    the page what the tab's answers cost, with none of the server's work."""
    import gradio as gr

    from mnist_demo.ui.draw_tab import EMPTY_MESSAGE, DrawView, classify_drawing
    from mnist_demo.ui.strokes import postprocessed_for_browser

    from browser_helpers import digit_strokes
    from drawings import canvas_data_url, render_strokes

    with gr.Blocks():
        outputs = [gr.Markdown(), gr.HTML(), gr.HTML(), gr.HTML()]
        outputs += [gr.Markdown(), gr.HTML(), gr.HTML(), gr.HTML()]
    answers, nothing = browser_latency.floor_answers(outputs, panels)

    drawings = [browser_latency.drawing_of(number) for number in range(20)]
    strokes = [digit_strokes(digit, box) for digit, box in drawings]
    assert len(answers) == sum(len(digit) for digit in strokes)
    first_stroke = strokes[0][:1]  # of the first drawing: a 0, drawn in one stroke
    meant, shown = (browser_latency.MEANT, ("why", "inside")) if panels else (None, ())
    view = classify_drawing(canvas_data_url(render_strokes(first_stroke)), None, meant, shown)
    assert answers[0] == postprocessed_for_browser(outputs, view)
    assert "The network says **0**" in answers[0][0]
    pictures = [DrawView(*answer).seen for answer in answers]
    assert all(a != b for a, b in zip(pictures, pictures[1:] + pictures[:1], strict=True))
    assert nothing[0] == EMPTY_MESSAGE
    opened = [DrawView(*answer).why != "" for answer in answers]
    assert all(opened) if panels else not any(opened)
