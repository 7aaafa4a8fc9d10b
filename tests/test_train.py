"""The training loop: loss falls, progress streams, seeds reproduce, divergence is caught."""

import math

import pytest
import torch
from torch import nn

from mnist_demo.data import augment, load_mnist, normalize
from mnist_demo.evaluate import evaluate
from mnist_demo.model import make_model
from mnist_demo.train import (
    EXPLODED_LOSS,
    TrainConfig,
    TrainingDiverged,
    check_loss,
    main,
    make_loss_fn,
    make_optimizer,
    train,
    train_step,
)

from conftest import blobs


def test_loss_falls_and_progress_streams():
    model = make_model(seed=0)
    config = TrainConfig(epochs=3, batch_size=32, report_every=5)
    events = list(train(model, blobs(), config, eval_set=blobs(200, seed=1), eval_every=20))
    assert [e.step for e in events] == sorted(e.step for e in events)
    assert events[-1].step == events[-1].total_steps == config.total_steps(600) == 57
    assert events[-1].loss < events[0].loss / 5
    assert events[-1].test_accuracy > 0.9
    assert all(e.samples_per_second > 0 and 0 <= e.running_accuracy <= 1 for e in events)
    assert sum(len(e.losses) for e in events) == 57  # every step's loss is reported once
    assert not model.training


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "momentum"])
def test_every_optimizer_learns(optimizer):
    model = make_model(seed=0)
    lr = {"adam": 1e-3, "sgd": 0.1, "momentum": 0.02}[optimizer]
    list(train(model, blobs(), TrainConfig(optimizer=optimizer, lr=lr, epochs=3, batch_size=32)))
    assert evaluate(model, blobs(200, seed=1)) > 0.8


def test_one_step_is_the_lessons_five_lines():
    """Our loop's first step equals zero_grad/forward/loss/backward/step done by hand."""
    data = blobs(64)
    ours, by_hand = make_model(seed=1), make_model(seed=1)
    config = TrainConfig(max_steps=1, batch_size=64, seed=5)
    list(train(ours, data, config))
    order = torch.randperm(64, generator=torch.Generator().manual_seed(5))
    optimizer = torch.optim.Adam(by_hand.parameters(), lr=1e-3)
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(
        by_hand((data.images[order] - 0.1307) / 0.3081), data.labels[order]
    )
    loss.backward()
    optimizer.step()
    for a, b in zip(ours.parameters(), by_hand.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_train_step_is_the_five_lines_by_hand():
    """`train_step` on one batch moves the weights exactly as the lesson's five lines do."""
    data = blobs(32, seed=3)
    images, targets = normalize(data.images), data.labels
    ours, by_hand = make_model(seed=1), make_model(seed=1)
    for model in (ours, by_hand):  # gradients left over from an earlier step
        for parameter in model.parameters():
            parameter.grad = torch.ones_like(parameter)
    optimizer = torch.optim.SGD(ours.parameters(), lr=0.5, momentum=0.9)
    logits, loss = train_step(ours, optimizer, nn.CrossEntropyLoss(), images, targets)

    hand_optimizer = torch.optim.SGD(by_hand.parameters(), lr=0.5, momentum=0.9)
    hand_optimizer.zero_grad()
    hand_logits = by_hand(images)
    hand_loss = nn.functional.cross_entropy(hand_logits, targets)
    hand_loss.backward()
    hand_optimizer.step()

    assert torch.allclose(logits, hand_logits) and torch.allclose(loss, hand_loss)
    moved = False
    for a, b, start in zip(
        ours.parameters(), by_hand.parameters(), make_model(seed=1).parameters(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6)
        moved |= not torch.allclose(a, start)
    assert moved  # one step changed the weights (so the comparison means something)


def test_should_stop_ends_the_run_after_the_step_it_first_says_so():
    calls = []

    def should_stop() -> bool:
        calls.append(len(calls) + 1)
        return len(calls) >= 7  # asked after every step: True first after step 7

    config = TrainConfig(max_steps=100, batch_size=16, seed=3, report_every=5)
    model = make_model(seed=3)
    events = list(train(model, blobs(), config, eval_set=blobs(50), should_stop=should_stop))
    assert len(calls) == 7
    assert [e.step for e in events] == [5, 7]  # the last step is reported, measured
    assert events[-1].test_accuracy is not None
    assert sum(len(e.losses) for e in events) == 7
    assert not model.training

    reference = make_model(seed=3)
    list(train(reference, blobs(), TrainConfig(max_steps=7, batch_size=16, seed=3)))
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_a_loss_above_the_limit_or_not_finite_is_divergence():
    check_loss(2.3, step=1, lr=1e-3)
    check_loss(EXPLODED_LOSS, step=1, lr=1e-3)  # the limit itself is still allowed
    for loss in (EXPLODED_LOSS * 1.01, float("inf"), float("nan")):
        with pytest.raises(TrainingDiverged, match=r"at step 12 .*learning rate 0\.5"):
            check_loss(loss, step=12, lr=0.5)


def test_same_seed_same_run_and_global_rng_untouched():
    def run():
        model = make_model(seed=2)
        list(train(model, blobs(), TrainConfig(max_steps=10, augment=True, seed=2, train_size=300)))
        return model.fc2.weight.detach().clone()

    torch.manual_seed(99)
    expected_next = torch.rand(1)
    torch.manual_seed(99)
    assert torch.equal(run(), run())
    assert torch.equal(torch.rand(1), expected_next)


def test_divergence_raises_a_clear_error():
    model = make_model(seed=0)
    with pytest.raises(TrainingDiverged, match="learning rate"):
        list(train(model, blobs(), TrainConfig(optimizer="sgd", lr=1e12, epochs=5)))


def test_stopping_early_leaves_a_consistent_model():
    model = make_model(seed=0)
    run = train(model, blobs(), TrainConfig(epochs=5, report_every=3))
    next(run)
    run.close()  # what a Stop button does
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert evaluate(model, blobs(200, seed=1)) >= 0.0


def test_augment_keeps_shape_and_range_and_moves_pixels():
    images = blobs(16).images
    moved = augment(images, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape
    assert moved.min() >= 0 and moved.max() <= 1 + 1e-6
    assert not torch.allclose(moved, images)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="adam"):
        make_optimizer("rmsprop", make_model().parameters(), 0.1)


def test_total_steps():
    assert TrainConfig(epochs=1, batch_size=64).total_steps(60_000) == math.ceil(60_000 / 64)
    assert TrainConfig(max_steps=7).total_steps(60_000) == 7


def test_command_line_dry_run_writes_a_checkpoint(mnist_dir, tmp_path, capsys):
    out = tmp_path / "dry.pt"
    accuracy = main(["--dry-run", "--out", str(out)])
    assert 0.3 < accuracy <= 1.0  # 20 steps on real MNIST already beat chance by far
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert "test accuracy" in capsys.readouterr().out


def test_command_line_help_states_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    assert "(default: adam)" in help_text and "(default: 0.001)" in help_text


def test_a_real_epoch_reaches_95_percent(mnist_dir):
    model = make_model(seed=0)
    list(train(model, load_mnist(train=True), TrainConfig(epochs=1, batch_size=128, lr=2e-3)))
    assert evaluate(model, load_mnist(train=False)) > 0.95


def test_the_softmax_bug_is_cross_entropy_of_probabilities_and_stalls():
    """The lesson's bug, as the Train tab's switch trains it: nn.CrossEntropyLoss applied
    to softmax outputs (checked against PyTorch), whose loss cannot leave 1.46..2.30."""
    logits = torch.randn(8, 10) * 5
    targets = torch.randint(0, 10, (8,))
    expected = nn.CrossEntropyLoss()(torch.softmax(logits, dim=1), targets)
    buggy = make_loss_fn(TrainConfig(softmax_bug=True))(logits, targets)
    assert torch.allclose(buggy, expected)
    assert isinstance(make_loss_fn(TrainConfig()), nn.CrossEntropyLoss)

    config = TrainConfig(epochs=3, batch_size=32, report_every=5)
    fixed = list(train(make_model(seed=0), blobs(), config))
    stalled = list(
        train(make_model(seed=0), blobs(), TrainConfig(**{**config.__dict__, "softmax_bug": True}))
    )
    losses = [loss for event in stalled for loss in event.losses]
    assert min(losses) >= -math.log(math.e / (math.e + 9)) - 1e-4 and max(losses) <= 2.31
    assert fixed[-1].loss < 0.5 < stalled[-1].loss  # the same run without the bug learns


def test_progress_carries_the_held_out_loss_beside_the_accuracy():
    events = list(
        train(
            make_model(seed=0),
            blobs(),
            TrainConfig(max_steps=20, report_every=5),
            blobs(100, seed=1),
            eval_every=10,
        )
    )
    measured = [e for e in events if e.test_accuracy is not None]
    assert [e.step for e in measured] == [10, 20]
    assert all(e.test_loss is not None and e.test_loss > 0 for e in measured)
    assert all(e.test_loss is None for e in events if e.test_accuracy is None)
