"""Helpers shared by the tests: a drawn seven, a polling wait, the Train tab's settings.

wait_until(lambda: job.done(), timeout=30)        # seconds it took; fails after 30
client.submit(*train_settings(unit="steps", amount=30), api_name="/train")
classify_drawing(SEVEN, session)                  # what the pad sends after a stroke
"""

import functools
import time

import gradio as gr
import pytest

from drawings import CENTERED, canvas_data_url, draw_layer

# A seven drawn large in the middle of the pad, as the pad sends it: a PNG data URL.
SEVEN = canvas_data_url(draw_layer(7, CENTERED))

# The Train tab's settings, in the order of the `/train` API's (and `train_model`'s)
# positional inputs. Written out here, not read from the app: a test compares them.
TRAIN_INPUTS = (
    "optimizer",
    "lr",
    "batch_size",
    "unit",
    "amount",
    "train_size",
    "hidden_size",
    "seed",
    "init",
    "comparison",
    "softmax_bug",
)


def wait_until(condition, timeout: float, interval: float = 0.01) -> float:
    """Seconds until `condition()` held, asked every `interval` seconds; fails the test when
    it still does not hold after `timeout` seconds."""
    start = time.monotonic()
    while not condition():
        waited = time.monotonic() - start
        if waited >= timeout:
            pytest.fail(f"timed out: still false after {waited:.2f} s")
        time.sleep(interval)
    return time.monotonic() - start


@functools.cache
def train_defaults() -> dict:
    """{setting: value} as a student first sees the Train tab, read from the tab as built
    (so they cannot drift from it)."""
    from mnist_demo.ui.app import new_session
    from mnist_demo.ui.train_tab import build_train_tab

    with gr.Blocks() as demo:
        build_train_tab(gr.State(new_session))
    train = next(fn for fn in demo.fns.values() if fn.api_name == "train")
    components = train.inputs[: len(TRAIN_INPUTS)]  # then the session's gr.State
    return {name: component.value for name, component in zip(TRAIN_INPUTS, components, strict=True)}


def train_settings(**overrides) -> list:
    """The `/train` API's positional inputs (see TRAIN_INPUTS): the tab's defaults with
    `overrides` (by name) applied."""
    unknown = set(overrides) - set(TRAIN_INPUTS)
    if unknown:
        raise TypeError(f"not a Train tab setting: {', '.join(sorted(unknown))}")
    values = train_defaults() | overrides
    return [values[name] for name in TRAIN_INPUTS]


def new_run(**form):
    """A run's record, started the way the Train tab starts one: form -> caps -> session."""
    from mnist_demo.classroom.runs import StudentSession, apply_caps, config_from_form

    config, notes = apply_caps(config_from_form(**form))
    return StudentSession().start_run(config, notes)
