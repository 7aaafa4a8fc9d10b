"""How often drawn digits are read right, per brush setting of the pad: before and after the
stroke-width step of the preprocessing, side by side in the same run.

    MNIST_DATA_DIR=/work/shared/mnist python benchmarks/drawn_accuracy.py [--per-digit 60]

The test sets are drawn, not MNIST pictures: each digit is a pen path, drawn on a canvas the
pad's size (280 x 280, transparent, black ink, anti-aliased edges) with the pad's round
brush, once per brush radius from the slider's thinnest to its boldest (BRUSH_RANGE of
mnist_demo/ui/drawing_pad.py). The same paths are drawn with every brush, so only the
brush changes between the columns. Two families of paths:

- "strokes": the hand-made pen strokes of tests/drawings.py for each digit, with a random
  slant, rotation, width and a wobbly hand;
- "skeletons": MNIST *test* digits (never trained on) thinned to one-pixel skeletons
  (Zhang-Suen), each skeleton pixel joined to its neighbours by the pen: real people's digit
  shapes, drawn again with the pad's brush.

Each path is drawn from 25% to 95% of the pad's height (the pen's path; the ink is one
stroke width taller), anywhere on the pad. "after" is the public API `predict_probabilities`
with the shipped network. "before" is, with `--before-checkpoint PATH`, the public API with
that network (an earlier one: `git show <commit>:checkpoints/mnist_mlp.pt > old.pt`, and its
.json beside it); without it, the shipped network without the stroke step
(`preprocess_stages(..., even_stroke_width=False)`, the preprocessing before issue 16). Then
the preprocessing's time per drawing without and with the stroke step, and the 10,000 MNIST
test images through both (and with the stroke step forced on them: the app leaves digits of
MNIST's size alone). Prints accuracies and medians; asserts nothing.

    python benchmarks/drawn_accuracy.py --before-checkpoint old.pt   # two networks
    python benchmarks/drawn_accuracy.py --seed 1 --per-digit 100      # a second, larger set
    python benchmarks/drawn_accuracy.py --beyond-radius 24   # + the slider's old boldest

    python benchmarks/drawn_accuracy.py --mnist-widths 5000   # MNIST's stroke proportions
"""

import argparse
import sys
import time
from pathlib import Path
from statistics import median

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "tests")]  # run as a plain script
from mnist_demo.checkpoint import load_model  # noqa: E402
from mnist_demo.data import load_mnist  # noqa: E402
from mnist_demo.predict import predict_image28, predict_probabilities, shipped_model  # noqa: E402
from mnist_demo.preprocess import Stages, ink_of, preprocess_stages, stages_of_ink  # noqa: E402
from mnist_demo.ui.drawing_pad import BRUSH_RANGE  # noqa: E402

from drawings import DIGIT_STROKES, render_strokes  # noqa: E402

CANVAS = 280
SIZES = (0.25, 0.95)  # the pen's path, as a fraction of the pad's height
BANDS = ((0.25, 0.45), (0.45, 0.7), (0.7, 0.95))


def brush_radii(beyond: int = 0) -> list[int]:
    """Every fourth radius of the pad's slider, from its min to its max (both included), and
    `beyond` it (0: none; the slider went to 24 until issue 16)."""
    low, high = BRUSH_RANGE
    return sorted({*range(low, high + 1, 4), high} | ({beyond} if beyond else set()))


# ------------------------------------------------------------------------------------------
# Pen paths
# ------------------------------------------------------------------------------------------


def zhang_suen(mask: np.ndarray) -> np.ndarray:
    """Thin a binary picture to a one-pixel skeleton (Zhang and Suen, 1984)."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = image
            # the 8 neighbours P2..P9, clockwise from the top
            n = [
                p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:],
                p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2],
            ]  # fmt: skip
            count = sum(n)
            transitions = sum((n[i] == 0) & (n[(i + 1) % 8] == 1) for i in range(8))
            if step == 0:
                keep_a, keep_b = n[0] * n[2] * n[4], n[2] * n[4] * n[6]
            else:
                keep_a, keep_b = n[0] * n[2] * n[6], n[0] * n[4] * n[6]
            remove = (
                (p[1:-1, 1:-1] == 1)
                & (count >= 2)
                & (count <= 6)
                & (transitions == 1)
                & (keep_a == 0)
                & (keep_b == 0)
            )
            if remove.any():
                image[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def skeleton_strokes(image28: np.ndarray, upscale: int = 4) -> list[list[tuple[float, float]]]:
    """An MNIST digit as pen strokes: its skeleton, each pixel joined to its neighbours."""
    from PIL import Image

    size = 28 * upscale
    big = np.asarray(Image.fromarray(image28).resize((size, size), Image.BILINEAR))
    skeleton = zhang_suen(big > 0.4)
    rows, cols = np.nonzero(skeleton)
    strokes = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r, c in zip(rows, cols, strict=True):
            r2, c2 = r + dy, c + dx
            if 0 <= r2 < size and 0 <= c2 < size and skeleton[r2, c2]:
                strokes.append([(c / upscale, r / upscale), (c2 / upscale, r2 / upscale)])
    lone = [(c / upscale, r / upscale) for r, c in zip(rows, cols, strict=True)]
    return strokes or [lone[:1]]


def placed(strokes, rng: np.random.Generator, wobble: float) -> tuple[list, float]:
    """The strokes slanted, turned, stretched, wobbled and put somewhere on the pad, with
    the pen's path 25-95% of the pad's height. Returns (strokes, height fraction)."""
    points = np.concatenate([np.asarray(s, np.float64) for s in strokes])
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    angle = np.radians(rng.uniform(-8, 8))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1.0, rng.uniform(-0.25, 0.25)], [0.0, 1.0]])
    stretch = np.diag([rng.uniform(0.85, 1.15), 1.0])
    matrix = turn @ shear @ stretch
    moved = [(np.asarray(s, np.float64) - centre) @ matrix.T for s in strokes]
    every = np.concatenate(moved)
    low, high = every.min(axis=0), every.max(axis=0)
    height = rng.uniform(*SIZES) * CANVAS
    scale = min(height / max(high[1] - low[1], 1e-6), (CANVAS - 4) / max(high[0] - low[0], 1e-6))
    size = (high - low) * scale
    room = np.maximum(CANVAS - 2 - size, 2)  # a path as wide as the pad (to a rounding) fits
    corner = np.array([rng.uniform(2, room[0]), rng.uniform(2, room[1])])
    result = []
    for stroke in moved:
        xy = (stroke - low) * scale + corner
        xy += rng.normal(0, wobble * height, xy.shape)
        result.append([tuple(p) for p in np.clip(xy, 0, CANVAS - 1)])
    return result, size[1] / CANVAS


def drawn_test_set(per_digit: int, seed: int = 0) -> list[tuple[str, int, list, float]]:
    """(family, digit, strokes, height fraction) for every drawing of the test set."""
    rng = np.random.default_rng(seed)
    paths = []
    for digit in range(10):
        for _ in range(per_digit):
            strokes, height = placed(DIGIT_STROKES[digit], rng, wobble=0.01)
            paths.append(("strokes", digit, strokes, height))
    test = load_mnist(train=False)  # the shipped network trains on bold training digits
    for digit in range(10):
        indices = np.flatnonzero(test.labels.numpy() == digit)
        for index in rng.choice(indices, per_digit, replace=False):
            image28 = test.images[index, 0].numpy()
            strokes, height = placed(skeleton_strokes(image28), rng, wobble=0.0)
            paths.append(("skeletons", digit, strokes, height))
    return paths


# ------------------------------------------------------------------------------------------
# Measuring
# ------------------------------------------------------------------------------------------


def read_both(picture, model, before_model=None) -> tuple[int, int]:
    """(digit read before, digit read through the public API): before is `before_model`
    through the public API, or without one, `model` without the stroke step."""
    if before_model is not None:
        before = predict_probabilities(picture, before_model)
        before_digit = int(max(before, key=before.get))
    else:
        stages = preprocess_stages(picture, even_stroke_width=False)
        before_digit = predict_image28(stages.image, model).digit
    after = predict_probabilities(picture, model)
    return before_digit, int(max(after, key=after.get))


def drawn_accuracy(paths, radii: list[int], before_model=None) -> None:
    """Per brush and family: accuracy before and after; and after, by the digit's size."""
    model = shipped_model()
    print(f"{len(paths)} drawn digits per brush ({len(paths) // 2} per family)\n")
    bands = " | ".join(f"{f'{a:.0%}-{b:.0%}':>7}" for a, b in BANDS)
    print(f"{'brush':>5} | {'family':>9} | {'before':>6} | {'after':>6} || after, by size: {bands}")
    for radius in radii:
        rows = []
        for family, digit, strokes, height in paths:
            layer = render_strokes(strokes, CANVAS, radius, supersample=2)
            before, after = read_both(layer, model, before_model)
            rows.append((family, height, before == digit, after == digit))
        for family in ("strokes", "skeletons", "all"):
            chosen = [r for r in rows if family in ("all", r[0])]
            sizes = " | ".join(
                f"{_share([r for r in chosen if a <= r[1] < b], 3):>7}" for a, b in BANDS
            )
            print(
                f"{radius:>5} | {family:>9} | {_share(chosen, 2)} | {_share(chosen, 3)} || "
                f"{' ' * 15}{sizes}"
            )
        print()


def _share(rows, column: int) -> str:
    return f"{np.mean([r[column] for r in rows]) if rows else np.nan:>6.1%}"


def stroke_step_cost(paths, radii: list[int], count: int = 200) -> None:
    """Median milliseconds of the preprocessing per drawing, without and with the stroke
    step, taken in turns on the same drawings."""
    print("preprocessing per drawing, median ms (without -> with the stroke step):")
    for radius in (radii[0], radii[len(radii) // 2], radii[-1]):
        times = {False: [], True: []}
        for *_, strokes, _ in paths[:: max(1, len(paths) // count)]:
            layer = render_strokes(strokes, CANVAS, radius, supersample=2)
            for even in (False, True):
                start = time.perf_counter()
                preprocess_stages(layer, even_stroke_width=even)
                times[even].append((time.perf_counter() - start) * 1000)
        print(f"  brush {radius:>2}: {median(times[False]):.2f} -> {median(times[True]):.2f}")


def mnist_test_accuracy(before_model=None) -> None:
    """The 10,000 test images: before, after (the public API), and with the stroke step
    forced on them too (the app leaves digits of MNIST's size as they are)."""
    test = load_mnist(train=False)
    model = shipped_model()
    pictures = (test.images[:, 0].numpy() * 255).round().astype(np.uint8)  # as PNGs hold them
    right = np.zeros(3, int)
    redrawn = 0
    for picture, label in zip(pictures, test.labels.tolist(), strict=True):
        forced = forced_stroke_step(picture)
        redrawn += forced.strokes.changed
        read = [
            *read_both(picture, model, before_model),
            predict_image28(forced.image, model).digit,
        ]
        right += np.array(read) == label
    before, after, if_forced = right / len(pictures)
    print(
        f"\nMNIST test images through predict_probabilities: before {before:.2%}, after "
        f"{after:.2%}; with the stroke step forced on them {if_forced:.2%} ({redrawn} redrawn)"
    )


def forced_stroke_step(picture) -> Stages:
    """The recipe with the stroke step applied to digits of any size."""
    return stages_of_ink(ink_of(picture), smallest=0)


def mnist_widths(count: int) -> None:
    """MNIST's stroke width / longer side, as the stroke step measures drawings."""
    pictures = (load_mnist(train=True).images[:count, 0].numpy() * 255).round().astype(np.uint8)
    ratios = [forced_stroke_step(picture).strokes.ratio for picture in pictures]
    p = np.percentile(ratios, [5, 10, 25, 50, 75, 90, 95])
    print(f"MNIST stroke width / longer side over {count} training digits:")
    print("  p5 {:.3f}  p10 {:.3f}  p25 {:.3f}  p50 {:.3f}  p75 {:.3f}  p90 {:.3f}".format(*p[:6]))
    print(f"  p95 {p[6]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--per-digit", type=int, default=60, help="drawings per digit and family (default 60)"
    )
    parser.add_argument(
        "--mnist-widths",
        type=int,
        default=0,
        metavar="N",
        help="only measure MNIST's stroke widths on N training digits",
    )
    parser.add_argument(
        "--skip-mnist", action="store_true", help="skip the 10,000 MNIST test images"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="which drawings (another seed: another test set)"
    )
    parser.add_argument(
        "--before-checkpoint",
        type=Path,
        default=None,
        help="'before' is this network through the public API (default: no stroke step)",
    )
    parser.add_argument(
        "--beyond-radius",
        type=int,
        default=0,
        metavar="R",
        help="also a brush of radius R, beyond the slider's (24: its old boldest)",
    )
    args = parser.parse_args()
    before_model = load_model(args.before_checkpoint) if args.before_checkpoint else None
    print(
        f"before: {args.before_checkpoint} through predict_probabilities"
        if before_model is not None
        else "before: the shipped network without the stroke step"
    )
    if args.mnist_widths:
        mnist_widths(args.mnist_widths)
        return
    start = time.perf_counter()
    paths = drawn_test_set(args.per_digit, args.seed)
    radii = brush_radii(args.beyond_radius)
    drawn_accuracy(paths, radii, before_model)
    stroke_step_cost(paths, radii)
    if not args.skip_mnist:
        mnist_test_accuracy(before_model)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
