"""How long a stroke takes to answer: preprocessing + forward pass, per canvas size.

    python benchmarks/predict_latency.py

Measures `mnist_demo.predict.predict` (ink -> crop -> 20 px -> centre of mass -> model ->
softmax) on a Sketchpad value of a drawn 7, at 280x280 (the app's canvas) and 800x800
(Gradio's default canvas), single-threaded as in the app. Prints median and p95.
Targets: median <= 3 ms at 280x280, <= 10 ms at 800x800. Asserts nothing about time.
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

from drawings import CENTERED, draw_layer, sketchpad_value  # noqa: E402
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


if __name__ == "__main__":
    main()
