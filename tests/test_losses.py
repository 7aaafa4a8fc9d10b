"""The lesson's softmax and cross-entropy numbers, checked against PyTorch itself."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mnist_demo.losses import (
    EPSILON,
    FLOAT32_EXP_LIMIT,
    LESSON_EXAMPLES,
    LESSON_LOG_SOFTMAX_SUM,
    LESSON_LOGITS,
    AllZeroProbabilitiesError,
    correct_loss,
    cross_entropy,
    cross_entropy_loss,
    double_softmax_loss,
    double_softmax_range,
    log_softmax,
    log_softmax_exact,
    logits_from_probabilities,
    naive_log_softmax,
    normalise_probabilities,
    one_hot,
    softmax,
    three_ways,
)

CAT = [1.0, 0.0, 0.0]  # the lesson's label: true class cat, one-hot


# --- the lesson's numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("y_hat", "expected"),
    [
        ([0.75, 0.25, 0.0], 0.2877),  # "not perfect, not the worst"
        ([0.99, 0.01, 0.0], 0.0101),  # after training
        ([1.0, 0.0, 0.0], 0.0),  # perfect: log(1) = 0
        ([0.01, 0.99, 0.0], 4.6052),  # the slide prints 4.65; -ln(0.01) = 4.60517
        ([0.0, 1.0, 0.0], 34.5388),  # log(0) capped by epsilon: -log(1e-15)
    ],
)
def test_cross_entropy_gives_the_lessons_numbers(y_hat: list[float], expected: float) -> None:
    assert float(cross_entropy(CAT, y_hat)) == pytest.approx(expected, abs=5e-5)


def test_the_slides_4_65_is_a_typo() -> None:
    loss = float(cross_entropy(CAT, [0.01, 0.99, 0.0]))
    assert loss == pytest.approx(-math.log(0.01), abs=1e-5) == pytest.approx(4.60517, abs=1e-5)
    assert round(loss, 2) != 4.65


def test_lesson_examples_table_matches_the_function() -> None:
    for example in LESSON_EXAMPLES:
        y = one_hot(example.true_class, 3)
        assert float(cross_entropy(y, example.y_hat)) == pytest.approx(example.loss, abs=5e-5)
        assert math.isclose(sum(example.y_hat), 1.0)


def test_epsilon_caps_log_of_zero() -> None:
    assert EPSILON == 1e-15
    assert float(cross_entropy(CAT, [0.0, 1.0, 0.0])) == pytest.approx(-math.log(EPSILON), rel=1e-6)
    assert f"{float(cross_entropy(CAT, [0.0, 0.5, 0.5])):.2f}" == "34.54"


def test_cross_entropy_accepts_tensors_and_batches() -> None:
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # (2, 3)
    y_hat = torch.tensor([[0.75, 0.25, 0.0], [0.2, 0.8, 0.0]])  # (2, 3)
    losses = cross_entropy(y, y_hat)  # (2,) one loss per example
    assert losses.shape == (2,)
    assert losses.tolist() == pytest.approx([-math.log(0.75), -math.log(0.8)], abs=1e-6)


def test_lesson_logits_softmax_sums_to_one_and_log_softmax_to_minus_24_6857() -> None:
    probabilities = softmax(LESSON_LOGITS)  # (10,)
    log_probabilities = log_softmax(LESSON_LOGITS)  # (10,)
    assert f"{float(probabilities.sum()):.2f}" == "1.00"
    assert float(log_probabilities.sum()) == pytest.approx(LESSON_LOG_SOFTMAX_SUM, abs=5e-5)
    assert LESSON_LOG_SOFTMAX_SUM == -24.6857
    # exp() of log_softmax gives the probabilities back, and both match PyTorch.
    torch.testing.assert_close(log_probabilities.exp(), probabilities)
    logits = torch.tensor(LESSON_LOGITS)
    torch.testing.assert_close(probabilities, F.softmax(logits, dim=0))
    torch.testing.assert_close(log_probabilities, F.log_softmax(logits, dim=0))


# --- log_softmax exactly, and the formula as written -----------------------------------


@settings(max_examples=50, deadline=None)
@given(
    classes=st.integers(2, 12),
    scale=st.floats(0.1, 30.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_log_softmax_exact_is_torchs_in_float64(classes: int, scale: float, seed: int) -> None:
    logits = torch.randn(classes, generator=torch.Generator().manual_seed(seed)) * scale
    exact = log_softmax_exact(logits)
    assert exact.dtype == torch.float64
    torch.testing.assert_close(exact, F.log_softmax(logits.double(), dim=0))


def test_log_softmax_exact_keeps_the_tiny_rest_of_a_sure_answer() -> None:
    """float32 and even float64 log_softmax say 0 where the value is -1.2e-43."""
    logits = torch.tensor([100.0, 0.0, 0.0, 0.0])
    rest = 3 * math.exp(-100)  # the others' share: softmax[0] = 1 / (1 + rest)
    assert float(F.log_softmax(logits.double(), dim=0)[0]) == 0.0  # rounded away
    assert float(log_softmax_exact(logits)[0]) == pytest.approx(-math.log1p(rest), rel=1e-12)
    assert float(log_softmax_exact(logits)[1]) == pytest.approx(-100 - math.log1p(rest))


def test_the_formula_as_written_overflows_float32_where_log_softmax_does_not() -> None:
    assert abs(FLOAT32_EXP_LIMIT - 88.7228) < 1e-4
    assert torch.isinf(torch.exp(torch.tensor(FLOAT32_EXP_LIMIT + 0.01)))
    small = torch.tensor(LESSON_LOGITS)
    torch.testing.assert_close(naive_log_softmax(small), F.log_softmax(small, dim=0))
    big = torch.tensor([100.0, 0.0, -100.0])
    naive = naive_log_softmax(big)  # exp(100) = inf: inf / inf, x / inf
    assert torch.isnan(naive[0]) and naive[1] == -math.inf and naive[2] == -math.inf
    assert torch.isfinite(F.log_softmax(big, dim=0)).all()


# --- cross_entropy_loss: log_softmax + nll_loss -----------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    batch=st.integers(1, 32),
    classes=st.integers(2, 12),
    scale=st.floats(0.1, 20.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_cross_entropy_loss_equals_torch_cross_entropy(
    batch: int, classes: int, scale: float, seed: int
) -> None:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, classes, generator=generator) * scale  # (B, C)
    labels = torch.randint(0, classes, (batch,), generator=generator)  # (B,)
    torch.testing.assert_close(cross_entropy_loss(logits, labels), F.cross_entropy(logits, labels))


def test_cross_entropy_loss_is_the_mean_of_minus_log_probability_of_the_label() -> None:
    logits = torch.tensor([LESSON_LOGITS, [0.0] * 10])  # (2, 10)
    labels = torch.tensor([3, 7])  # (2,)
    expected = -(F.log_softmax(logits, dim=1)[[0, 1], labels]).mean()
    torch.testing.assert_close(cross_entropy_loss(logits, labels), expected)
    assert float(cross_entropy_loss(logits[1:], labels[1:])) == pytest.approx(math.log(10))


# --- normalising slider values ----------------------------------------------------------


def test_normalise_divides_by_the_sum() -> None:
    y_hat = normalise_probabilities([0.3, 0.1, 0.0, 0.6, 1.0])
    assert y_hat.tolist() == pytest.approx([0.15, 0.05, 0.0, 0.3, 0.5])
    assert float(y_hat.sum()) == pytest.approx(1.0)


def test_all_zero_probabilities_raise_a_clear_value_error() -> None:
    with pytest.raises(AllZeroProbabilitiesError, match="Move at least one slider") as info:
        normalise_probabilities([0.0, 0.0, 0.0])
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("values", [[0.5, -0.1, 0.2], [0.5, float("nan")], [float("inf"), 1.0]])
def test_invalid_probabilities_raise_value_error(values: list[float]) -> None:
    with pytest.raises(ValueError):
        normalise_probabilities(values)


def test_one_hot() -> None:
    assert one_hot(1, 3).tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError):
        one_hot(3, 3)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=10).filter(lambda v: sum(v) > 1e-3))
def test_softmax_of_logits_from_probabilities_gives_them_back(values: list[float]) -> None:
    y_hat = normalise_probabilities(values)
    back = softmax(logits_from_probabilities(y_hat))
    torch.testing.assert_close(back, y_hat, atol=1e-6, rtol=1e-5)
    assert back[y_hat == 0].eq(0).all()  # zero stays exactly zero


# --- three ways, same number ------------------------------------------------------------


def test_three_ways_agree_on_the_lessons_examples() -> None:
    for example in LESSON_EXAMPLES[:4]:  # all with p(true) > 0
        ways = three_ways(example.y_hat, example.true_class)
        assert {f"{way + 0.0:.4f}" for way in ways} == {f"{example.loss:.4f}"}


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=10),
    data=st.data(),
)
def test_three_ways_agree_whenever_the_true_class_has_probability(values, data) -> None:
    true_class = data.draw(st.integers(0, len(values) - 1))
    values[true_class] = max(values[true_class], 0.01)  # p(true) > 0: the loss is finite
    ways = three_ways(values, true_class)
    assert ways.nll_loss == pytest.approx(ways.by_hand, abs=1e-5)
    assert ways.cross_entropy_loss == pytest.approx(ways.by_hand, abs=1e-5)
    # ...and they are what F.cross_entropy gives on the same logits.
    logits = logits_from_probabilities(values).unsqueeze(0)  # (1, C)
    reference = F.cross_entropy(logits, torch.tensor([true_class]))
    assert ways.cross_entropy_loss == pytest.approx(float(reference), abs=1e-6)


def test_three_ways_when_the_true_class_has_probability_zero() -> None:
    ways = three_ways([0.0, 1.0, 0.0], 0)
    assert ways.by_hand == pytest.approx(34.5388, abs=5e-5)  # epsilon caps it
    assert ways.nll_loss == math.inf  # -log(0): the true value
    assert ways.cross_entropy_loss == math.inf
    assert not any(math.isnan(way) for way in ways)


def test_three_ways_normalises_first() -> None:
    assert three_ways([3.0, 1.0, 0.0], 0) == pytest.approx(three_ways([0.75, 0.25, 0.0], 0))


# --- the double-softmax bug -------------------------------------------------------------


def test_double_softmax_loss_is_what_pytorch_gives_for_that_bug() -> None:
    logits = torch.tensor([LESSON_LOGITS])  # (1, 10)
    targets = torch.tensor([3])
    buggy = nn.CrossEntropyLoss()(F.softmax(logits, dim=1), targets)  # the bug, written out
    torch.testing.assert_close(double_softmax_loss(logits, targets), buggy)
    torch.testing.assert_close(double_softmax_loss(LESSON_LOGITS, 3), buggy)  # (C,) + int
    right = F.cross_entropy(logits, targets)
    torch.testing.assert_close(correct_loss(LESSON_LOGITS, 3), right)
    assert abs(float(buggy) - float(right)) > 0.1


@settings(max_examples=50, deadline=None)
@given(
    batch=st.integers(1, 16),
    classes=st.integers(2, 12),
    scale=st.floats(0.5, 20.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_double_softmax_loss_matches_the_bug_on_random_batches(
    batch: int, classes: int, scale: float, seed: int
) -> None:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(batch, classes, generator=generator) * scale  # (B, C)
    targets = torch.randint(0, classes, (batch,), generator=generator)  # (B,)
    buggy = double_softmax_loss(logits, targets)
    torch.testing.assert_close(buggy, F.cross_entropy(F.softmax(logits, dim=1), targets))
    low, high = double_softmax_range(classes)
    assert low - 1e-5 <= float(buggy) <= high + 1e-5  # stuck in a narrow band


def test_double_softmax_range_is_reached_and_never_zero() -> None:
    low, high = double_softmax_range(10)
    assert (round(low, 4), round(high, 4)) == (1.4612, 2.4612)
    certain = torch.full((10,), -100.0)
    certain[3] = 100.0  # softmax is one-hot on digit 3
    assert float(correct_loss(certain, 3)) == pytest.approx(0.0, abs=1e-6)
    assert float(double_softmax_loss(certain, 3)) == pytest.approx(low, abs=1e-5)
    assert float(double_softmax_loss(certain, 5)) == pytest.approx(high, abs=1e-5)
