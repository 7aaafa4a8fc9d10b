"""A real MNIST digit instead of drawing: answered like a drawing, its true label chosen."""

import random

import gradio as gr
import pytest

from mnist_demo import data
from mnist_demo.classroom.runs import StudentSession
from mnist_demo.data import MNISTNotFoundError
from mnist_demo.ui.draw_tab import view_of
from mnist_demo.ui.mnist_sample import NO_MNIST, show_mnist_digit

from helpers import SEVEN


def test_a_test_digit_is_answered_with_its_label_chosen(mnist_dir):
    session = StudentSession()
    view = show_mnist_digit(session, view_of, random.Random(0))
    label = view.meant_choice
    _, test_set = data.shared_data()
    assert session.meant == label and 0 <= label <= 9
    assert f"You meant {label}" in view.meant and "The network says" in view.answer
    assert "MNIST test digit #" in view.sample and f"a <b>{label}</b>" in view.sample
    assert f"You have not drawn a {label} yet" in view.sample  # nothing drawn so far
    index = int(view.sample.split("MNIST test digit #")[1].split(":")[0].replace(",", ""))
    assert int(test_set.labels[index]) == label  # the label shown is the digit's own


def test_it_stands_beside_the_students_last_drawing_of_that_digit(mnist_dir):
    session = StudentSession()
    label = show_mnist_digit(session, view_of, random.Random(0)).meant_choice
    session.drawings[label] = SEVEN  # what the stroke handler keeps for the digit meant
    again = show_mnist_digit(session, view_of, random.Random(0))
    assert again.sample.count("<img") == 2 and f"your last drawing of a {label}" in again.sample


def test_without_mnist_it_says_how_to_get_it(monkeypatch):
    def missing(*args, **kwargs):
        raise MNISTNotFoundError("no MNIST here")

    monkeypatch.setattr(data, "load_mnist", missing)
    with pytest.raises(gr.Error, match="MNIST files"):
        show_mnist_digit(StudentSession(), view_of)
    assert "Train tab" in NO_MNIST
