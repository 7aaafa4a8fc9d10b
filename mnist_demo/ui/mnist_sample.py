"""The Draw tab's "Show me a real MNIST digit": a random test digit in front of the network,
its true label chosen, beside the student's last drawing of the same digit.

It is also the way in for a student who cannot draw with a pointer (keyboard, screen reader):
every answer of the tab is announced (the headline is an aria-live region).
"""

import random
from typing import NamedTuple

import gradio as gr
import numpy as np

from mnist_demo.data import MNISTNotFoundError, shared_data
from mnist_demo.predict import predict_image28
from mnist_demo.preprocess import EmptyCanvasError, to_mnist_image
from mnist_demo.ui.lesson_panels import MAP_SCALE, draw_model, inline_png

NO_MNIST = "Real MNIST digits need the MNIST files: the Train tab says how to provide them."
_RANDOM = random.Random()  # which test digit comes next: no need to be reproducible


class SampleView(NamedTuple):
    """The tab's outputs for a real MNIST digit: the stroke's eight, then two more."""

    answer: object
    bars: object
    seen: object
    numbers: object
    meant: object
    curve: object
    why: object
    inside: object
    meant_choice: object  # the radio: the digit's true label
    sample: object  # the MNIST digit beside the student's own (HTML)


def random_test_digit(generator: random.Random) -> tuple[np.ndarray, int, int]:
    """(28x28 image in 0..1, its label, its index) of a random MNIST test digit."""
    try:
        _, test_set = shared_data()
    except MNISTNotFoundError as error:
        raise gr.Error(NO_MNIST) from error
    index = generator.randrange(len(test_set))
    return test_set.images[index, 0].numpy(), int(test_set.labels[index]), index


def side_by_side(image28: np.ndarray, label: int, index: int, own_drawing) -> str:
    """The MNIST digit beside the student's last drawing of the same digit, both 28x28."""
    pixels = (np.clip(image28, 0, 1) * 255).astype(np.uint8)
    mnist = inline_png(pixels, MAP_SCALE, f"MNIST test digit {index}, a {label}")
    try:
        own = to_mnist_image(own_drawing) if own_drawing else None
    except (EmptyCanvasError, ValueError):
        own = None
    if own is None:
        theirs = f"<p>You have not drawn a {label} yet: choose {label} above and draw one.</p>"
    else:
        own_pixels = (np.clip(own, 0, 1) * 255).astype(np.uint8)
        theirs = inline_png(own_pixels, MAP_SCALE, f"your last drawing of a {label}")
    return (
        '<div style="display:flex;flex-wrap:wrap;gap:1.5rem">'
        f"<figure style='margin:0'>{mnist}<figcaption>MNIST test digit #{index:,}: "
        f"a <b>{label}</b></figcaption></figure>"
        f"<figure style='margin:0'>{theirs}<figcaption>your last {label}, as the network "
        f"sees it</figcaption></figure></div>"
    )


def show_mnist_digit(session, view_of, generator: random.Random = _RANDOM) -> SampleView:
    """A random test digit answered as a drawing would be, with its true label chosen."""
    image28, label, index = random_test_digit(generator)
    session.meant = label
    model = draw_model(session)
    view = view_of(predict_image28(image28, model), model, label, tuple(session.panels))
    sample = side_by_side(image28, label, index, session.drawings.get(label))
    return SampleView(*view, meant_choice=label, sample=sample)
