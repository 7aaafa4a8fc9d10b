"""The Cross-entropy tab: its handlers called directly, then the tab through gradio_client."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import math  # noqa: E402
import re  # noqa: E402

import gradio as gr  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from table_text import cell_text, row_of, table_rows  # noqa: E402

from mnist_demo.constants import NUM_CLASSES  # noqa: E402
from mnist_demo.losses import LESSON_EXAMPLES, LESSON_LOGITS  # noqa: E402
from mnist_demo.plots import CURRENT_LABEL_GID, CURRENT_POINT_GID  # noqa: E402
from mnist_demo.ui.cross_entropy_tab import (  # noqa: E402
    ANIMALS,
    BIG_LOGITS,
    DEFAULT_PROBABILITIES,
    DIGITS,
    TRUE_LABEL,
    ProbabilityView,
    apply_lesson_example,
    build_cross_entropy_tab,
    clamped_sliders,
    cross_entropy_view,
    logits_view,
    set_logits,
    shift_logits,
    switch_classes,
)

from conftest import serving  # noqa: E402


def _sliders(*values: float) -> list[float]:
    """Ten slider values: the given ones, then zeros for the hidden sliders."""
    return list(values) + [0.0] * (NUM_CLASSES - len(values))


def losses_in(text: str) -> list[str]:
    """The last column of a table (the losses), without its header."""
    return [row[-1] for row in table_rows(text)[1:]]


def _has_no_nan(*texts: str) -> bool:
    """No number printed as nan (Python's spelling; the explanations may say "NaN")."""
    return not any(re.search(r"\bnan\b", text) for text in texts)


# --- probabilities mode -----------------------------------------------------------------


def test_lesson_example_shows_0_2877_everywhere() -> None:
    view = cross_entropy_view(ANIMALS, 0, False, *_sliders(0.75, 0.25))
    assert "# 0.2877" in view.loss
    assert "-log(0.75 ÷ 1.00) = -log(0.7500)" in cell_text(view.loss)  # slider ÷ their sum
    assert table_rows(view.vectors)[0] == ["class", "slider", "ŷ = slider ÷ sum", "y, one-hot"]
    assert row_of(view.vectors, "cat") == ["cat", "0.75", "0.7500", "1"]
    assert row_of(view.vectors, "horse") == ["horse", "0.00", "0.0000", "0"]
    assert row_of(view.vectors, "sum") == ["sum", "1.00", "1.0000", "1"]
    assert losses_in(view.three_ways) == ["0.2877"] * 3  # three ways, same number
    assert isinstance(view.curve, Figure)
    (point,) = view.curve.findobj(lambda a: a.get_gid() == CURRENT_POINT_GID)
    assert point.get_xdata()[0] == pytest.approx(0.75)
    assert point.get_ydata()[0] == pytest.approx(0.2877, abs=5e-5)
    assert "Tick" in view.bug  # the bug comparison is off by default


def test_sliders_are_divided_by_their_sum() -> None:
    view = cross_entropy_view(ANIMALS, 0, False, *_sliders(0.6, 0.2, 0.0))
    assert "divided by their sum" in view.vectors and "(0.80)" in view.vectors
    assert [row[2] for row in table_rows(view.vectors)[1:]] == [
        "0.7500",
        "0.2500",
        "0.0000",
        "1.0000",
    ]
    assert "# 0.2877" in view.loss  # 0.6 / 0.8 = 0.75
    assert "-log(0.60 ÷ 0.80) = -log(0.7500)" in cell_text(view.loss)


@pytest.mark.parametrize("index", range(len(LESSON_EXAMPLES)))
def test_each_lesson_example_in_one_click(index: int) -> None:
    example = LESSON_EXAMPLES[index]
    preset = apply_lesson_example(index, False)
    assert preset.class_set == ANIMALS  # also from the digits
    assert [s["value"] for s in preset.sliders[:3]] == list(example.y_hat)
    assert [s["visible"] for s in preset.sliders] == [True] * 3 + [False] * 7
    assert preset.true_class["value"] == example.true_class
    assert f"# {example.loss:.4f}" in preset.view.loss
    if example.y_hat[example.true_class] > 0:
        assert example.note in preset.view.loss
    assert _has_no_nan(preset.view.loss, preset.view.vectors, preset.view.three_ways)


def test_p_0_01_shows_the_correct_4_6052_and_says_the_slide_is_wrong() -> None:
    loss = cross_entropy_view(ANIMALS, 0, False, *_sliders(0.01, 0.99)).loss
    assert "# 4.6052" in loss
    assert "4.65" in loss and "typo" in loss


def test_p_true_zero_shows_the_epsilon_capped_value_and_explains() -> None:
    view = cross_entropy_view(ANIMALS, 0, True, *_sliders(0, 1, 0))
    assert "# 34.5388" in view.loss
    assert "infinite" in view.loss and "1e-15" in view.loss
    assert "∞" in view.three_ways and "34.5388" in view.three_ways  # the library ways give ∞
    (label,) = view.curve.findobj(lambda a: a.get_gid() == CURRENT_LABEL_GID)
    assert "34.54" in label.get_text()
    assert _has_no_nan(view.loss, view.vectors, view.three_ways, view.bug)


def test_all_sliders_at_zero_give_a_clear_message_not_a_crash() -> None:
    view = cross_entropy_view(ANIMALS, 0, True, *_sliders())
    assert "Move at least one slider above 0" in view.loss
    assert "0 / 0" in view.loss
    assert view.curve.findobj(lambda a: a.get_gid() == CURRENT_POINT_GID) == []
    assert _has_no_nan(view.loss, view.vectors, view.three_ways, view.bug)


def test_hidden_sliders_are_ignored() -> None:
    visible_only = cross_entropy_view(ANIMALS, 1, False, *_sliders(0.2, 0.5, 0.3))
    with_hidden = cross_entropy_view(ANIMALS, 1, False, 0.2, 0.5, 0.3, *[0.9] * 7)
    assert visible_only.loss == with_hidden.loss
    assert visible_only.vectors == with_hidden.vectors


def test_ten_digits() -> None:
    values = [0.0] * NUM_CLASSES
    values[7] = 0.5
    values[1] = 0.5
    view = cross_entropy_view(DIGITS, 7, False, *values)
    assert f"# {-math.log(0.5):.4f}" in view.loss
    rows = table_rows(view.vectors)
    assert [row[0] for row in rows[1:]] == [str(d) for d in range(10)] + ["sum"]
    assert row_of(view.vectors, "7")[-1] == "1"  # the one-hot label


def test_the_digits_starting_values_say_why_their_loss_is_not_the_logits_one() -> None:
    """m7: the sliders hold the softmax of the lesson's logits rounded to 2 decimals."""
    view = cross_entropy_view(DIGITS, 0, False, *DEFAULT_PROBABILITIES[DIGITS])
    exact = float(F.cross_entropy(torch.tensor([LESSON_LOGITS]), torch.tensor([0])))
    assert f"{exact:.4f}" == "1.9763"
    assert "# 1.9661" in view.loss and "1.9763" in view.loss
    assert "rounded to 2 decimals" in view.loss


def test_switching_classes_relabels_and_shows_ten_sliders() -> None:
    digits = switch_classes(DIGITS, False)
    assert len(digits.sliders) == 10 and all(s["visible"] for s in digits.sliders)
    assert [s["label"] for s in digits.sliders][:2] == ["P(0)", "P(1)"]
    assert len(digits.true_class["choices"]) == 10
    assert "#" in digits.view.loss
    assert digits.class_set is None  # the radio button is what the student just clicked
    back = switch_classes(ANIMALS, False)
    assert [s["visible"] for s in back.sliders] == [True] * 3 + [False] * 7
    assert [s["label"] for s in back.sliders[:3]] == ["P(cat)", "P(dog)", "P(horse)"]
    assert "# 0.2877" in back.view.loss


def test_bug_switch_shows_the_wrong_loss_next_to_the_right_one() -> None:
    bug = cross_entropy_view(ANIMALS, 0, True, *_sliders(0.75, 0.25)).bug
    logits = torch.log(torch.tensor([[0.75, 0.25, 0.0]]))
    wrong = F.cross_entropy(F.softmax(logits, dim=1), torch.tensor([0]))
    assert losses_in(bug) == ["0.2877", f"{float(wrong):.4f}"]  # right, then with the bug
    assert "softmax of a softmax" in bug


@pytest.mark.parametrize(
    ("class_set", "true_class"), [("birds", 0), (ANIMALS, 3), (ANIMALS, None), (ANIMALS, "x")]
)
def test_bad_input_from_the_api_is_a_gradio_error(class_set, true_class) -> None:
    with pytest.raises(gr.Error):
        cross_entropy_view(class_set, true_class, False, *_sliders(0.5, 0.5))


def test_switching_to_an_unknown_class_set_is_a_gradio_error() -> None:
    with pytest.raises(gr.Error, match="Unknown set of classes"):
        switch_classes("birds", False)


def test_a_value_beyond_a_slider_is_clamped_with_a_note_not_an_error() -> None:
    """m3 (the behaviour changed: a negative value was a gr.Error): typed or sent through
    the API, -0.5 is read as 0 and 5 as 1, and the view says so."""
    view = cross_entropy_view(ANIMALS, 0, False, *_sliders(0.5, -0.5, 0.2))
    assert "P(dog) was -0.5" in view.loss and "0 is used" in view.loss
    assert f"# {-math.log(0.5 / 0.7):.4f}" in view.loss
    view = cross_entropy_view(ANIMALS, 0, False, *_sliders(5, 1, 0))
    assert "P(cat) was 5" in view.loss and f"# {-math.log(0.5):.4f}" in view.loss


@pytest.mark.parametrize("junk", ["abc", float("nan"), [1]])
def test_a_value_that_is_not_a_number_is_a_gradio_error(junk) -> None:
    with pytest.raises(gr.Error, match="must be a number"):
        cross_entropy_view(ANIMALS, 0, False, *_sliders(0.5, junk, 0.2))


def test_a_wrong_true_class_is_refused_in_the_classes_names() -> None:
    with pytest.raises(gr.Error, match="1 = dog"):
        cross_entropy_view(ANIMALS, "Dog", False, *_sliders(0.5, 0.5))


def test_only_sliders_beyond_their_range_are_moved() -> None:
    """The follow-up event sets a typed 150 back to 100 and leaves the others alone (a
    slider being dragged never jumps back)."""
    updates = clamped_sliders(-100.0, 100.0)(150.0, 5.0, None, -1e9)
    assert updates[0] == gr.update(value=100.0) and updates[3] == gr.update(value=-100.0)
    assert updates[1] == updates[2] == gr.skip()


# --- logits mode ------------------------------------------------------------------------


def test_lesson_logits_show_the_sums_and_the_loss() -> None:
    view = logits_view(3, True, *LESSON_LOGITS)
    # softmax sums to 1.00 and log_softmax to -24.6857, as on the lesson's slide
    assert row_of(view.table, "sum") == ["sum", "", "1.0000", "-24.6857"]
    assert row_of(view.table, "3 true class ◀ top guess")[1:] == ["0.9186", "0.1617", "-1.8222"]
    assert row_of(view.table, "0")[1:] == ["0.7645", "0.1386", "-1.9763"]
    assert "log Σⱼ exp(logitⱼ) = 2.7408" in view.table
    logits = torch.tensor([LESSON_LOGITS])
    expected = float(F.cross_entropy(logits, torch.tensor([3])))
    assert f"# {expected:.4f}" in view.loss
    assert view.bars["probability"].sum() == pytest.approx(1.0)
    assert list(view.bars["class"]).count("true class") == 1
    assert view.bars["class"][3] == "true class"
    wrong = float(F.cross_entropy(F.softmax(logits, dim=1), torch.tensor([3])))
    assert losses_in(view.bug) == [f"{expected:.4f}", f"{wrong:.4f}"]
    assert losses_in(view.stability) == [f"{expected:.4f}"] * 2  # small logits: both agree
    assert "still works here" in view.stability


def test_logits_preset_sets_the_sliders() -> None:
    preset = set_logits([0.0] * NUM_CLASSES, 0, False)
    assert preset.sliders == [0.0] * 10
    assert f"# {math.log(10):.4f}" in preset.view.loss  # uniform: -log(1/10)


def test_extreme_logits_do_not_overflow() -> None:
    logits = [-10.0] * NUM_CLASSES
    logits[0] = 10.0
    view = logits_view(1, True, *logits)  # confidently wrong
    assert "# 20.0000" in view.loss
    assert _has_no_nan(view.table, view.loss, view.bug, view.stability)


def test_big_logits_give_a_finite_loss_where_the_formula_as_written_gives_inf_or_nan() -> None:
    """Item 7: logits of +-100 (the Draw tab's scale and beyond): log_softmax stays finite,
    exp() overflows float32 in the formula as written."""
    z = torch.tensor(BIG_LOGITS)
    naive = torch.log(torch.exp(z) / torch.exp(z).sum())  # float32, as the lesson warns
    stable = F.log_softmax(z, dim=0)
    assert torch.isnan(naive[7]) and naive[0] == -math.inf and torch.isfinite(stable).all()

    wrong_class = logits_view(0, False, *BIG_LOGITS)
    assert "# 100.0000" in wrong_class.loss  # -log_softmax[0] = 100 + log(1 + ...)
    assert losses_in(wrong_class.stability) == ["100.0000", "inf"]
    assert (
        "log-sum-exp" in wrong_class.stability
        and "subtracts the largest logit" in wrong_class.stability
    )

    right_class = logits_view(7, False, *BIG_LOGITS)
    exact = math.log1p(8 * math.exp(-100) + math.exp(-200))  # -log_softmax[7], not 0
    assert f"# {exact:.1e}" in right_class.loss
    assert losses_in(right_class.stability) == [f"{exact:.1e}", "nan"]
    top = row_of(right_class.table, "7 true class ◀ top guess")
    assert top[2] == f"1 − {exact:.1e}" and top[3] == f"{-exact:.1e}"  # never 1 and 0
    assert row_of(right_class.table, "3")[2] == f"{math.exp(-200):.1e}"  # never 0


def test_adding_5_to_every_logit_changes_no_probability_and_no_loss() -> None:
    """Softmax depends only on the logits' differences (review (c), gap 8)."""
    before = logits_view(3, False, *LESSON_LOGITS)
    after = shift_logits(5.0, 3, False, *LESSON_LOGITS)
    assert after.sliders == pytest.approx([z + 5 for z in LESSON_LOGITS])
    assert after.view.loss.split("\n\n")[1] == before.loss.split("\n\n")[1] == "# 1.8222"
    shown = [row[2:] for row in table_rows(after.view.table)]  # softmax, log_softmax
    assert shown == [row[2:] for row in table_rows(before.table)]
    near_the_edge = shift_logits(5.0, 0, False, *BIG_LOGITS)  # 105 is clamped to 100
    assert near_the_edge.sliders[7] == 100.0 and "logit for 7 was 105" in near_the_edge.view.loss


def test_equal_logits_say_ln_10_is_where_training_starts() -> None:
    view = logits_view(4, False, *[2.5] * NUM_CLASSES)
    assert f"# {math.log(10):.4f}" in view.loss and "ln 10 = 2.3026" in view.loss
    assert "ln 10" not in logits_view(4, False, *LESSON_LOGITS).loss


def test_a_logit_beyond_100_is_clamped_with_a_note() -> None:
    values = list(LESSON_LOGITS)
    values[3] = 150.0
    view = logits_view(0, False, *values)
    assert "logit for 3 was 150" in view.loss and "100 is used" in view.loss
    values[3] = 100.0
    expected = float(F.cross_entropy(torch.tensor([values]), torch.tensor([0])))
    assert f"# {expected:.4f}" in view.loss  # the loss of the clamped logits, never stale


# --- the tab's events, wired ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> gr.Blocks:
    with gr.Blocks() as blocks, gr.Tab("Cross-entropy"):
        build_cross_entropy_tab()
    return blocks


def test_every_event_answers_exactly_its_outputs(demo) -> None:
    """Each handler, called with the components' start values, updates every output it lists."""
    for event in demo.fns.values():
        answer = event.fn(*[component.value for component in event.inputs])
        if isinstance(answer, dict):  # {component: value}
            assert set(answer) == set(event.outputs), event.api_name
        else:  # a view, in the order of the outputs
            assert len(answer) == len(event.outputs), event.api_name


def test_the_class_switch_event_relabels_the_sliders(demo) -> None:
    """The event wired to the "Classes" radio, as Gradio calls it (no browser test covers it)."""
    (switch,) = [
        e
        for e in demo.fns.values()
        if [getattr(demo.blocks.get(i), "label", None) for i, _ in e.targets] == ["Classes"]
    ]
    answer = switch.fn(DIGITS, False)
    sliders = [c for c in switch.outputs if isinstance(c, gr.Slider)]
    assert [answer[s]["label"] for s in sliders] == [f"P({d})" for d in range(10)]
    assert all(answer[s]["visible"] for s in sliders)
    loss_md = next(c for c in switch.outputs if isinstance(c, gr.Markdown))
    assert answer[loss_md].startswith("Cross-entropy = -log(ŷ[0])")


def test_the_true_class_takes_only_its_choices(demo) -> None:
    """m4: radio buttons, not a box that accepts free text ("Dog", "7")."""
    (true_class,) = [b for b in demo.blocks.values() if getattr(b, "label", None) == TRUE_LABEL]
    assert isinstance(true_class, gr.Radio)


# --- the tab in a launched app, through gradio_client -----------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from gradio_client import Client

    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    with gr.Blocks() as demo, gr.Tab("Cross-entropy"):
        build_cross_entropy_tab()
    with serving(demo.queue(), server_name="127.0.0.1", ssr_mode=False) as url:
        yield Client(url, verbose=False)


def test_the_api_answers_with_the_lessons_number(client) -> None:
    result = client.predict(ANIMALS, 0, False, *_sliders(0.75, 0.25), api_name="/cross_entropy")
    view = ProbabilityView(*result)  # the API answers the view's fields in order
    assert "# 0.2877" in view.loss
    assert losses_in(view.three_ways) == ["0.2877"] * 3
    assert view.curve is not None
    assert "Tick" in view.bug


def test_the_api_takes_ten_digits_and_any_true_class(client) -> None:
    values = [0.1] * NUM_CLASSES
    view = ProbabilityView(*client.predict(DIGITS, 7, False, *values, api_name="/cross_entropy"))
    assert f"# {math.log(10):.4f}" in view.loss


def test_the_api_handles_the_edge_cases(client) -> None:
    empty = ProbabilityView(
        *client.predict(ANIMALS, 0, False, *_sliders(), api_name="/cross_entropy")
    )
    assert "Move at least one slider above 0" in empty.loss
    zero = ProbabilityView(
        *client.predict(ANIMALS, 0, True, *_sliders(0, 1), api_name="/cross_entropy")
    )
    assert "# 34.5388" in zero.loss


def test_the_api_keeps_its_inputs_and_outputs(client) -> None:
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    parameters = [p["parameter_name"] for p in api["/cross_entropy"]["parameters"]]
    assert parameters[:3] == ["class_set", "true_class", "apply_softmax_bug"]
    assert len(parameters) == 3 + NUM_CLASSES  # then one slider per class
    returns = [r["component"] for r in api["/cross_entropy"]["returns"]]
    assert returns == ["Markdown", "Markdown", "Plot", "Markdown", "Markdown"]  # ProbabilityView


def test_only_the_main_event_is_public(client) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/cross_entropy"]
