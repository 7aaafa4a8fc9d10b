"""What the Train tab shows of a student's runs: the status line, the live plots, the run
choices and the result panel, as `RunView`s (one field per output). Plain functions of a `StudentSession` and its `RunRecord`s.
"""

from typing import NamedTuple

import gradio as gr

from mnist_demo.classroom.runs import (
    DIVERGED,
    FAILED,
    RUNNING,
    RunRecord,
    StudentSession,
    describe,
    reproduce_command,
)
from mnist_demo.plots import accuracy_frame, confusion_styler, enlarge, loss_frame
from mnist_demo.ui.lesson_panels import templates_html
from mnist_demo.ui.line_plot_fix import line_plot_update

GALLERY_SCALE = 3  # 28x28 digits shown 84x84
# A run whose test accuracy stays below this learnt next to nothing (guessing gives 10%):
# the result says so and why, instead of a plain "Trained 300 steps".
LEARNT_NOTHING_BELOW = 0.2
NO_RESULT = "Train a run to see its results here."
SHIPPED_IN_DRAW = "**Draw tab model:** the shipped model (the same for everyone)."
SKIP = gr.skip()


class RunView(NamedTuple):
    """The outputs of the run events, by name; SKIP leaves an output as it is."""

    status: object = SKIP
    loss_plot: object = SKIP
    accuracy_plot: object = SKIP
    run_choice: object = SKIP
    result: object = SKIP
    confusion: object = SKIP
    gallery: object = SKIP
    templates: object = SKIP
    session: object = SKIP


class ResultView(NamedTuple):
    """The result panel of one run."""

    result: str = NO_RESULT
    confusion: object = None
    gallery: list = []
    templates: str = ""  # what each hidden unit of the run's model looks for (HTML)


def plot_updates(session: StudentSession, force: bool = False) -> dict:
    """{loss_plot, accuracy_plot} of every run in the session (gr.skip() if unchanged)."""
    curves = {record.legend: record.curves() for record in session.runs}
    colors = {record.legend: record.color for record in session.runs}
    losses = {run: losses for run, (losses, _, _) in curves.items()}
    accuracies = {run: (steps, accuracies) for run, (_, steps, accuracies) in curves.items()}
    sent = session.plots_sent
    return {
        "loss_plot": line_plot_update(sent, "loss", loss_frame(losses), colors, force),
        "accuracy_plot": line_plot_update(
            sent, "accuracy", accuracy_frame(accuracies), colors, force
        ),
    }


def run_choices(session: StudentSession, selected: int | None = None) -> gr.Dropdown:
    """The runs that have a model (to inspect, use in Draw or download), newest first."""
    usable = [record for record in session.runs if record.has_model]
    choices = [(record.label, record.run_id) for record in reversed(usable)]
    ids = [run_id for _, run_id in choices]
    if selected not in ids:
        selected = ids[0] if ids else None
    return gr.Dropdown(choices=choices, value=selected)


def progress_text(record: RunRecord) -> str:
    epoch = record.step * record.config.batch_size / record.config.train_size
    losses = record.losses
    loss = f"{losses[-1]:.3f}" if losses else "-"
    return (
        f"**Run #{record.run_id}** ({describe(record.config)}): step {record.step:,} of "
        f"{record.total_steps:,} · epoch {epoch:.2f} · loss {loss} · "
        f"{record.samples_per_second:,.0f} samples/s · {time_left(record)}"
    )


def time_left(record: RunRecord) -> str:
    seconds = record.seconds_left()
    return "under 1 s left" if seconds < 1 else f"about {seconds:.0f} s left"


def status_text(record: RunRecord) -> str:
    """What the status line says about a run, with the caps it had applied to it."""
    if record.status == RUNNING:
        text = progress_text(record)
    elif record.status == DIVERGED:
        text = f"### ⚠️ Run #{record.run_id} diverged\n{record.message}"
    elif record.status == FAILED:
        text = f"### Run #{record.run_id} failed\n{record.message}"
    else:
        text = f"**Run #{record.run_id}** ({describe(record.config)}): {record.message}"
    if record.notes:
        text += "\n\n*Capped to the classroom limits:* " + "; ".join(record.notes) + "."
    return text


def learnt_nothing_note(record: RunRecord) -> str | None:
    """Why a run that ended normally is no better than guessing, or None if it learnt."""
    result = record.result
    if result is None or result.test_accuracy >= LEARNT_NOTHING_BELOW:
        return None
    note = (
        f"This network learnt next to nothing: {result.test_accuracy:.1%} on the test images, "
        f"where guessing gives 10%."
    )
    if result.dead_units > result.hidden_units / 2:
        note += (
            f" {result.dead_units} of its {result.hidden_units} hidden ReLU units output 0 "
            f"for every test image: they have died, so their gradient is 0 and no step can "
            f"revive them."
        )
    if record.config.lr >= 0.1:
        note += f" A learning rate of {record.config.lr:g} makes steps too large: try 0.001."
    else:
        note += " Train for more steps, or try a larger learning rate."
    return note


def result_view(record: RunRecord | None) -> ResultView:
    """The result panel: text, confusion matrix and gallery of one run."""
    if record is None or record.result is None:
        return ResultView()
    result = record.result
    text = (
        f"### Run #{record.run_id}: {result.test_accuracy:.1%} test accuracy\n"
        f"On all {result.test_images:,} test images (guessing gives 10%). {record.message}"
    )
    note = learnt_nothing_note(record)
    if note is not None:
        text += f"\n\n⚠️ {note}"
    command = reproduce_command(record)
    if command is not None:
        text += f"\n\nThe same run from the command line:\n```\n{command}\n```"
    gallery = [
        (enlarge(mistake.image, GALLERY_SCALE), mistake.caption) for mistake in result.mistakes
    ]
    templates = templates_html(record.model) if record.model is not None else ""
    return ResultView(text, confusion_styler(result.confusion), gallery, templates)


def draw_model_text(session: StudentSession) -> str:
    model = session.draw_model
    for record in session.runs:
        if model is not None and record.model is model:
            accuracy = f", {record.result.test_accuracy:.1%} test accuracy" if record.result else ""
            return (
                f"**Draw tab model:** your run #{record.run_id} ({describe(record.config)}"
                f"{accuracy}). Only you see it; the others keep theirs."
            )
    if model is not None:
        return "**Draw tab model:** one of your earlier runs. Only you see it."
    return SHIPPED_IN_DRAW


def final_views(session: StudentSession, status: str, choices, result: ResultView | None):
    """The last two updates of a run event: the plots first, then everything (plots again,
    see ui/line_plot_fix.py). The last one is also what an API caller gets as the result.

    The run choices come with the first, together with the status that says the run has
    ended: a student who clicked "Use this model" between the two got "Pick a run that has
    finished" (seen in the browser test). `result=None` leaves the result panel as it is.
    """
    yield RunView(status=status, **plot_updates(session), run_choice=choices)
    panel = result._asdict() if result is not None else {}
    yield RunView(
        status=status,
        **plot_updates(session, force=True),
        run_choice=choices,
        **panel,
        session=session,
    )


def show_end(session: StudentSession, record: RunRecord):
    """How a run ended, with its results if it has a model."""
    if record.model is None:  # diverged or failed: the result panel keeps the last run
        yield from final_views(session, status_text(record), run_choices(session), None)
    else:
        choices = run_choices(session, record.run_id)
        yield from final_views(session, status_text(record), choices, result_view(record))
