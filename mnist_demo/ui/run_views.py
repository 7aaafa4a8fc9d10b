"""What the Train tab shows of a student's runs: the status line, the live charts, the runs
table, the run choices and the result panel, as `RunView`s (one field per output). Plain
functions of a `StudentSession` and its `RunRecord`s.
"""

from typing import NamedTuple

import gradio as gr

from mnist_demo.classroom.runs import (
    DIVERGED,
    FAILED,
    OPTIMIZER_NAMES,
    RUNNING,
    RunRecord,
    StudentSession,
    describe,
    reproduce_command,
)
from mnist_demo.plots import confusion_html, enlarge
from mnist_demo.run_charts import RunCurves, accuracy_chart, legend_html, loss_chart
from mnist_demo.ui.lesson_panels import templates_html

GALLERY_SCALE = 3  # 28x28 digits shown 84x84
# A run whose test accuracy stays below this learnt next to nothing (guessing gives 10%):
# the result says so and why, instead of a plain "Trained 300 steps".
LEARNT_NOTHING_BELOW = 0.2
NO_RESULT = "Train a run to see its results here."
SHIPPED_IN_DRAW = "**Draw tab model:** the shipped model (the same for everyone)."
SKIP = gr.skip()
TRAIN_READY = gr.update(value="Train", interactive=True)
TRAIN_TAKEN = gr.update(value="Train: your press is taken", interactive=False)


class RunView(NamedTuple):
    """The outputs of the run events, by name; SKIP leaves an output as it is."""

    status: object = SKIP
    loss_plot: object = SKIP
    accuracy_plot: object = SKIP
    runs_table: object = SKIP
    train_btn: object = SKIP
    run_choice: object = SKIP
    result: object = SKIP
    confusion: object = SKIP
    gallery: object = SKIP
    templates: object = SKIP
    session: object = SKIP


class ResultView(NamedTuple):
    """The result panel of one run."""

    result: str = NO_RESULT
    confusion: str = ""  # an HTML table, empty before a run
    gallery: list = []
    templates: str = ""  # what each hidden unit of the run's model looks for (HTML)


def run_curves(record: RunRecord, earlier: list[RunRecord] = ()) -> RunCurves:
    """The run as the charts draw it. A run with the same settings as an earlier one (the
    same seed: the same curve) says so, or its line would hide the other's without a word."""
    twin = next((other for other in earlier if other.config == record.config), None)
    label = record.legend if twin is None else f"{record.legend} (= #{twin.run_id}: same curve)"
    curves = record.curves()
    return RunCurves(
        label,
        record.color,
        losses=curves.losses,
        eval_steps=curves.eval_steps,
        eval_losses=curves.eval_losses,
        eval_accuracies=curves.eval_accuracies,
    )


def session_curves(session: StudentSession) -> list[RunCurves]:
    """Every run of the session as the charts draw it, oldest first."""
    return [run_curves(record, session.runs[:i]) for i, record in enumerate(session.runs)]


def plot_updates(session: StudentSession, force: bool = False) -> dict:
    """{loss_plot, accuracy_plot}: the charts of every run in the session, each as SKIP
    when the browser already shows it (unless `force`)."""
    runs = session_curves(session)
    legend = legend_html(runs) if runs else ""
    charts = {
        "loss_plot": f"{loss_chart(runs)}{legend}",
        "accuracy_plot": f"{accuracy_chart(runs)}{legend_html(runs, with_test=False) if runs else ''}",
    }
    updates = {}
    for name, chart in charts.items():
        unchanged = session.plots_sent.get(name) == chart
        session.plots_sent[name] = chart
        updates[name] = SKIP if unchanged and not force else chart
    return updates


def runs_table(session: StudentSession) -> str:
    """The session's runs side by side: optimizer, rate, steps, time, losses, accuracy."""
    if not session.runs:
        return ""
    header = (
        "<tr><th>run</th><th>optimizer</th><th>lr</th><th>steps</th><th>time</th>"
        "<th>training loss</th><th>test loss</th><th>test accuracy</th></tr>"
    )
    rows = [_table_row(record) for record in session.runs]
    return (
        '<table class="runs-table" aria-label="Your runs side by side">'
        f"<thead>{header}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _table_row(record: RunRecord) -> str:
    curves = record.curves()
    config = record.config
    optimizer = OPTIMIZER_NAMES[config.optimizer] + (" (softmax bug)" if config.softmax_bug else "")
    train_loss = (
        f"{sum(curves.losses[-20:]) / len(curves.losses[-20:]):.3f}" if curves.losses else "-"
    )
    test_loss = f"{curves.eval_losses[-1]:.3f}" if curves.eval_losses else "-"
    if record.result is not None:
        accuracy = f"{record.result.test_accuracy:.1%}"
    elif record.status == RUNNING and curves.eval_accuracies:
        accuracy = f"{curves.eval_accuracies[-1]:.1%} so far"
    else:
        accuracy = record.status
    cells = (
        f'<span style="color:{record.color}">■</span> #{record.run_id}',
        optimizer,
        f"{config.lr:g}",
        f"{record.step:,}",
        f"{record.elapsed:.1f} s",
        train_loss,
        test_loss,
        accuracy,
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


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
        f"{record.samples_per_second:,.0f} samples/s · {time_left(record)}\n\n"
        f'<progress value="{record.step}" max="{record.total_steps}" '
        f'aria-label="training progress" style="width: 100%"></progress>'
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
    return ResultView(text, confusion_html(result.confusion), gallery, templates)


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
    """The last update of a run event: the charts, the runs table, the run choices, the
    result panel (`result=None` leaves it as it is) and the Train button back as it was.
    It is also what an API caller gets as the result."""
    panel = result._asdict() if result is not None else {}
    yield RunView(
        status=status,
        **plot_updates(session, force=True),
        runs_table=runs_table(session),
        train_btn=TRAIN_READY,
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
