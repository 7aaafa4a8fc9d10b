"""Shared fixtures: the real MNIST folder, fake IDX files, and a launched app.

Tests that need the real data set use `mnist_dir`. Locally they skip when it is missing;
in CI (CI=true) a missing data set is a failure, because a skipped real test hides a
broken product.
"""

import contextlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from mnist_demo.constants import DATA_DIR_ENV, PROJECT_ROOT
from mnist_demo.data import MNISTTensors

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "mnist"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def real_mnist_dir() -> Path | None:
    """$MNIST_DATA_DIR if it holds MNIST, else ../shared/mnist if it does, else None."""
    for candidate in (os.environ.get(DATA_DIR_ENV), SHARED_MNIST):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file():
            return Path(candidate)
    return None


def require_or_skip(reason: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (in CI this must not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST folder; also exported as $MNIST_DATA_DIR for the code under test."""
    folder = real_mnist_dir()
    if folder is None:
        require_or_skip(f"real MNIST not found in ${DATA_DIR_ENV} or {SHARED_MNIST}")
    os.environ[DATA_DIR_ENV] = str(folder)
    return folder


def blobs(count: int = 600, seed: int = 0) -> MNISTTensors:
    """A small learnable set: each class lights up its own 5x5 square plus noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.rand(count, 1, 28, 28, generator=generator) * 0.3
    for digit in range(10):
        row, col = divmod(digit, 4)
        images[labels == digit, 0, 2 + 6 * row : 7 + 6 * row, 2 + 6 * col : 7 + 6 * col] = 1.0
    return MNISTTensors(images=images, labels=labels)


def write_idx_images(path: Path, images: np.ndarray) -> None:
    """The IDX3 format of MNIST's image files: magic 2051, count, rows, cols, then bytes."""
    count, rows, cols = images.shape
    path.write_bytes(
        struct.pack(">IIII", 2051, count, rows, cols) + images.astype(np.uint8).tobytes()
    )


def write_idx_labels(path: Path, labels: np.ndarray) -> None:
    """The IDX1 format of MNIST's label files: magic 2049, count, then one byte per label."""
    path.write_bytes(struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path) -> tuple[Path, dict]:
    """A tiny MNIST in torchvision's layout (root/MNIST/raw/), with known contents."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    contents = {}
    for prefix, count in (("train", 30), ("t10k", 12)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = np.arange(count) % 10
        write_idx_images(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
        contents[prefix] = (images, labels)
    return tmp_path, contents


@contextlib.contextmanager
def serving(demo, **launch_options):
    """`demo` launched in this process on a free port; yields its URL, closes it after."""
    demo.launch(prevent_thread_lock=True, quiet=True, server_port=None, **launch_options)
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()


@pytest.fixture(scope="module")
def launched_app(tmp_path_factory, mnist_dir):
    """The whole app, launched with its hosting options on a free port; yields its URL."""
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    from mnist_demo.classroom.stroke_process import StrokeProcess
    from mnist_demo.ui.app import build_demo, launch_options

    demo = build_demo()
    strokes = demo.stroke_handler
    # The stroke process as app.py's prepare_to_serve forks it (without its GC settings,
    # which would stay with this test process).
    strokes.process = StrokeProcess(strokes.answer_in_process)
    try:
        with serving(demo, **launch_options()) as url:
            yield url
    finally:
        strokes.process = None  # a daemon: it ends with the tests (its event loop is closed)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium; in CI its absence fails the run instead of skipping."""
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.is_file():
        require_or_skip(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
