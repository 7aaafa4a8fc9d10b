"""Drawing in, probabilities out: with the shipped model."""

import pytest
import torch

from mnist_demo.model import make_model
from mnist_demo.predict import predict, predict_probabilities, shipped_model
from mnist_demo.preprocess import EmptyCanvasError

from drawings import CENTERED, SMALL_CORNER, draw_layer, sketchpad_value


def test_probabilities_are_ten_digits_summing_to_one():
    probabilities = predict_probabilities(sketchpad_value(draw_layer(7, CENTERED)))
    assert list(probabilities) == [str(d) for d in range(10)]
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())


@pytest.mark.parametrize("digit", [0, 1, 4, 7])
@pytest.mark.parametrize(
    "box, radius", [(CENTERED, 12), (SMALL_CORNER, 4), ((150, 150, 270, 270), 8)]
)
def test_shipped_model_reads_drawn_digits_wherever_they_are(digit, box, radius):
    prediction = predict(sketchpad_value(draw_layer(digit, box, brush_radius=radius)))
    assert prediction.digit == digit


def test_logits_softmax_and_log_softmax_agree_with_pytorch():
    prediction = predict(sketchpad_value(draw_layer(4, CENTERED)))
    assert torch.allclose(prediction.probabilities, torch.softmax(prediction.logits, dim=0))
    assert torch.allclose(prediction.log_probabilities.exp(), prediction.probabilities, atol=1e-6)


def test_another_model_can_be_used():
    untrained = make_model(seed=0)
    probabilities = predict_probabilities(sketchpad_value(draw_layer(7, CENTERED)), untrained)
    assert max(probabilities.values()) < 0.5  # an untrained network is unsure


def test_shipped_model_is_loaded_once_and_in_eval_mode():
    assert shipped_model() is shipped_model()
    assert not shipped_model().training


def test_empty_canvas_is_not_a_prediction():
    with pytest.raises(EmptyCanvasError):
        predict_probabilities(None)
