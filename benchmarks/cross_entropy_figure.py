"""How long the server spends per slider update on the Cross-entropy tab's -log(p) figure.

Run from the project folder:

    .venv/bin/python benchmarks/cross_entropy_figure.py            # 50 updates
    .venv/bin/python benchmarks/cross_entropy_figure.py --updates 200

It replays a drag of the cat slider (p from 0.02 to 1) and times, per update:
- the whole handler `cross_entropy_view` (maths, tables, and building the figure);
- gradio's encoding of the figure for `gr.Plot` (`gr.Plot().postprocess`: matplotlib draws
  it and saves it as an image in base64), in the tab's format and in png;
- for comparison, the naive figure that draws curve, axes and ticks on every update.
Server cost per update = handler + encoding. Prints median and p95; asserts nothing about
time (the target is a median under 60 ms on a 2-vCPU machine).
"""

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a plain script
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
import matplotlib  # noqa: E402
import torch  # noqa: E402

from mnist_demo import plots  # noqa: E402
from mnist_demo.ui.cross_entropy_tab import ANIMALS, FIGURE_FORMAT, cross_entropy_view  # noqa: E402


def machine_info() -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.platform()}; {cpu}; {os.cpu_count()} logical CPUs; "
        f"Python {platform.python_version()}; torch {torch.__version__} "
        f"({torch.get_num_threads()} threads); matplotlib {matplotlib.__version__} "
        f"(backend {matplotlib.get_backend()}); gradio {gr.__version__}"
    )


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{name:<48} median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   "
        f"max {ms[-1]:6.1f} ms"
    )


def naive_figure(p_true: float):
    """Everything drawn on every update (what the tab avoids): for comparison only."""
    fig = plots._static_curve_figure()
    plots._mark_current_point(fig.axes[0], p_true, -math.log(p_true))
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50, help="slider updates (default 50)")
    args = parser.parse_args()

    print(machine_info())
    plot = gr.Plot(format=FIGURE_FORMAT)
    png_plot = gr.Plot(format="png")

    # The first update also draws the static chart once and caches it.
    sliders = [0.75, 0.25] + [0.0] * 8
    start = time.perf_counter()
    plot.postprocess(cross_entropy_view(ANIMALS, 0, False, *sliders).curve)
    cold = time.perf_counter() - start
    print(f"first update (draws and caches the static chart): {cold * 1000:.1f} ms")

    handler, encode, total, encode_png, size = [], [], [], [], []
    figure_only, naive = [], []
    for i in range(args.updates):
        p_cat = 0.02 + 0.98 * i / max(1, args.updates - 1)  # a drag of the cat slider
        sliders = [p_cat, 1 - p_cat] + [0.0] * 8

        start = time.perf_counter()
        outputs = cross_entropy_view(ANIMALS, 0, False, *sliders)
        middle = time.perf_counter()
        data = plot.postprocess(outputs[2])
        end = time.perf_counter()
        handler.append(middle - start)
        encode.append(end - middle)
        total.append(end - start)
        size.append(len(data.plot))

        start = time.perf_counter()
        fig = plots.cross_entropy_curve(p_cat)
        middle = time.perf_counter()
        png_plot.postprocess(fig)
        end = time.perf_counter()
        figure_only.append(middle - start)
        encode_png.append(end - middle)

        start = time.perf_counter()
        plot.postprocess(naive_figure(p_cat))
        naive.append(time.perf_counter() - start)

    print(f"{args.updates} updates, gr.Plot format {FIGURE_FORMAT!r}:")
    print(summary("handler cross_entropy_view (maths + figure)", handler))
    print(summary("  of which building the figure", figure_only))
    print(summary(f"gr.Plot encoding ({FIGURE_FORMAT})", encode))
    print(summary("SERVER COST PER UPDATE (handler + encoding)", total))
    print(summary("  encoding as png instead", encode_png))
    print(summary("naive figure, all redrawn (build + encoding)", naive))
    print(f"payload per update: {statistics.median(size) / 1000:.1f} kB of base64 {FIGURE_FORMAT}")


if __name__ == "__main__":
    main()
