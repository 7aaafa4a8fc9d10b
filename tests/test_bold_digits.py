"""Bold copies of MNIST digits, the shipped network's training data for small bold drawings."""

import numpy as np
import pytest
import torch

from mnist_demo.bold_digits import UPSCALE, as_the_app_sees_it, bold_copies, bold_copy, bolder
from mnist_demo.data import MNISTTensors, batches, load_mnist, normalize
from mnist_demo.preprocess import center_of_mass
from mnist_demo.stroke_width import stroke_width


def ring(outer: float = 8.0, inner: float = 5.0) -> np.ndarray:
    """A 0 as MNIST draws one: a ring 3 px wide around a hole 10 px across, in 28x28."""
    rows, cols = np.mgrid[0:28, 0:28]
    r = np.hypot(rows - 14, cols - 14)
    return ((r <= outer) & (r >= inner)).astype(np.float32)


def bar(width: int = 2) -> np.ndarray:
    """A 1: a vertical bar `width` px wide and 20 px tall."""
    image = np.zeros((28, 28), np.float32)
    image[4:24, 14 - width // 2 : 14 - width // 2 + width] = 1
    return image


@pytest.mark.parametrize("pen", [2, 6, 10])
def test_the_pen_widens_every_stroke_by_twice_its_radius(pen):
    before = stroke_width(bolder(bar(), 0) > 0.5)
    after = stroke_width(bolder(bar(), pen) > 0.5)
    assert after - before == pytest.approx(2 * pen, abs=1.5)


def test_a_pen_wider_than_the_hole_fills_the_loop():
    """The ring's hole is 10 px across (40 at 4x): a pen of 24 px fills it; one of 8 not."""
    centre = 14 * UPSCALE
    assert bolder(ring(), 8)[centre, centre] == 0
    assert bolder(ring(), 24)[centre, centre] == 1


def test_a_filled_ring_comes_back_with_mnist_proportions_but_no_hole():
    """What a small bold 0 reaches the network as: a lump, centred like MNIST's digits, as
    tall as the 20 px box, with no hole."""
    image = bold_copy(ring(), 24)
    assert image.shape == (28, 28) and image.min() >= 0 and image.max() <= 1
    assert image[14, 14] > 0.9  # the hole is filled
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    assert rows[-1] - rows[0] + 1 == pytest.approx(20, abs=1)
    assert center_of_mass(image) == pytest.approx((14, 14), abs=1.0)


def test_a_thin_pen_leaves_mnist_digits_as_they_were(mnist_dir):
    """No pen: 50 MNIST test digits come back through the app's preprocessing nearly as they
    were (what differs: their grey edges made sharp, a re-centring by a fraction of a px)."""
    digits = load_mnist(train=False, root=mnist_dir).images[:50, 0].numpy()
    agreement = [
        np.corrcoef(digit.ravel(), as_the_app_sees_it(bolder(digit, 0)).ravel())[0, 1]
        for digit in digits
    ]
    assert np.median(agreement) > 0.93


def test_an_empty_picture_is_left_empty():
    empty = np.zeros((28, 28), np.float32)
    assert bold_copy(empty, 10) is empty


def test_every_image_gets_its_own_pen_from_the_seed():
    images = torch.from_numpy(np.stack([ring(), bar(), ring(), bar()])).unsqueeze(1)
    first = bold_copies(images, torch.Generator().manual_seed(0))
    again = bold_copies(images, torch.Generator().manual_seed(0))
    assert first.shape == images.shape and torch.equal(first, again)
    assert not torch.equal(first[0], first[2])  # two rings, two pens


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_batches_swap_in_about_the_share_of_bold_copies(share):
    images = torch.from_numpy(np.stack([bar()] * 1000)).unsqueeze(1)
    bold = torch.from_numpy(np.stack([bar(8)] * 1000)).unsqueeze(1)
    data = MNISTTensors(images=images, labels=torch.ones(1000, dtype=torch.int64))
    batch, _ = next(
        batches(data, 1000, torch.Generator().manual_seed(0), bold=bold, bold_share=share)
    )
    swapped = (batch == normalize(bold[:1])).flatten(1).all(dim=1).float().mean().item()
    assert swapped == pytest.approx(share, abs=0.05)
