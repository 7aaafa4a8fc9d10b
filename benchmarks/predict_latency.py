"""How long a stroke takes to answer: preprocessing + forward pass, per canvas size; then
the Draw tab's whole answer as the server sends it, with and without the lesson panels.

    python benchmarks/predict_latency.py

Measures `mnist_demo.predict.predict` (ink -> crop -> 20 px -> centre of mass -> model ->
softmax) on a Sketchpad value of a drawn 7, at 280x280 (the app's canvas) and 800x800
(Gradio's default canvas), single-threaded as in the app. Prints median and p95.
Targets: median <= 3 ms at 280x280, <= 10 ms at 800x800.

Then, in turns in the same run, the stroke answer as the Draw tab's handler computes it
(prediction, every output built and passed through its component's postprocess): the four
outputs the tab had before the lesson panels; all eight with the "why" and "inside"
panels closed (as the tab starts), without and with a digit meant; with both open and a
digit meant (two maps, the hidden layer). Target: the panels add at most 2 ms.
Asserts nothing about time.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]  # run as a plain script
from mnist_demo.predict import predict, shipped_model  # noqa: E402

from drawings import CENTERED, canvas_data_url, draw_layer, sketchpad_value  # noqa: E402
from stats import percentile  # noqa: E402 (benchmarks/stats.py)


def measure(size: int, repeats: int) -> list[float]:
    scale = size / 280
    box = tuple(v * scale for v in CENTERED)
    canvas = sketchpad_value(draw_layer(7, box, size, brush_radius=round(12 * scale)))
    model = shipped_model()
    for _ in range(10):  # warm up
        predict(canvas, model)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(canvas, model)
        times.append((time.perf_counter() - start) * 1000)
    return times


def stroke_answers(repeats: int) -> dict[str, list[float]]:
    """Milliseconds per stroke answer, three ways, taken in turns."""
    import gradio as gr

    from mnist_demo.classroom.runs import StudentSession
    from mnist_demo.ui.draw_tab import (
        bars_html,
        build_draw_tab,
        headline,
        numbers_html,
        seen_html,
    )
    from mnist_demo.ui.strokes import postprocessed_for_browser

    with gr.Blocks():
        handler = build_draw_tab(gr.State(None)).handler
    canvas = canvas_data_url(draw_layer(7, CENTERED))
    model = shipped_model()

    def four_outputs():  # the tab before the lesson panels
        prediction = predict(canvas, model)
        values = (
            headline(prediction),
            bars_html(prediction.probabilities.tolist()),
            seen_html(prediction.image),
            numbers_html(prediction),
        )
        postprocessed_for_browser(handler.outputs[:4], values)

    session = StudentSession()
    ways = {
        "before the panels (4 outputs)": four_outputs,
        "8 outputs, panels closed": lambda: handler.answer_here(canvas, session, (None, ())),
        "8, digit 3, panels closed": lambda: handler.answer_here(canvas, session, (3, ())),
        "8, digit 3, why+inside open": lambda: handler.answer_here(
            canvas, session, (3, ("why", "inside"))
        ),
    }
    times = {name: [] for name in ways}
    for _ in range(10):  # warm up
        for answer in ways.values():
            answer()
    for _ in range(repeats):
        for name, answer in ways.items():
            start = time.perf_counter()
            answer()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats", type=int, default=200, help="predictions per size (default: 200)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in the app
    print(f"torch {torch.__version__}, 1 thread, {args.repeats} predictions per size")
    for size, target in ((280, 3.0), (800, 10.0)):
        times = measure(size, args.repeats)
        print(
            f"{size}x{size}: median {statistics.median(times):6.2f} ms, p95 {percentile(times, 95):6.2f} ms"
            f"   (target: median <= {target:g} ms)"
        )

    print("\nthe Draw tab's stroke answer, as the server sends it (in turns):")
    times = stroke_answers(args.repeats)
    for name, values in times.items():
        print(
            f"  {name:32s} median {statistics.median(values):6.2f} ms, "
            f"p95 {percentile(values, 95):6.2f} ms"
        )
    medians = [statistics.median(values) for values in times.values()]
    for name, median in list(zip(times, medians, strict=True))[1:]:
        print(f"  {name}: {median - medians[0]:+.2f} ms (target: at most +2 ms)")


if __name__ == "__main__":
    main()
