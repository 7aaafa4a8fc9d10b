"""The app around the tabs: one student's session from start to end."""

import pytest

from mnist_demo.ui.app import end_session, new_session


def test_a_finished_session_leaves_no_download_folder(tmp_path):
    session = new_session()
    end_session(session)  # nothing downloaded: nothing to remove
    folder = tmp_path / "mnist-train-x"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"weights")
    session.export_dir = str(folder)
    end_session(session)
    assert not folder.exists()


def test_sessions_expire_and_are_tidied_up():
    """Without a time to live Gradio never calls the delete callback."""
    import gradio as gr

    from mnist_demo.ui.app import SESSION_SECONDS, build_demo

    demo = build_demo()
    states = [block for block in demo.blocks.values() if isinstance(block, gr.State)]
    session = next(state for state in states if state.value is new_session)
    assert session.time_to_live == SESSION_SECONDS >= 3600
    assert session.delete_callback is end_session


@pytest.fixture
def serving_settings(monkeypatch):
    """classroom/server.py's process-wide settings, recorded instead of applied (this test
    process keeps its own), and its fork replaced by a record of what would be forked."""
    import gc

    import torch

    from mnist_demo.classroom import server

    applied = {"thresholds": [], "threads": [], "forked": [], "arenas": []}
    monkeypatch.setattr(gc, "freeze", lambda: None)
    monkeypatch.setattr(gc, "set_threshold", lambda *counts: applied["thresholds"].append(counts))
    monkeypatch.setattr(torch, "set_num_threads", applied["threads"].append)
    monkeypatch.setattr(server, "StrokeProcess", applied["forked"].append)
    monkeypatch.setattr(server, "limit_malloc_arenas", lambda: applied["arenas"].append(True))
    return applied


def test_mnist_is_read_before_the_class_arrives(mnist_dir, serving_settings):
    """Reading MNIST pauses every request for ~2 s: `prepare_to_serve` does it at start-up,
    so the first student's run does not."""
    from mnist_demo import data
    from mnist_demo.classroom.server import GC_THRESHOLD, prepare_to_serve

    data._load_cached.cache_clear()
    answer = object()
    prepare_to_serve(answer)
    assert serving_settings["thresholds"] == [GC_THRESHOLD]  # rarer collections while serving
    assert serving_settings["threads"] == [1]  # one torch thread per request
    assert serving_settings["arenas"] == [True]  # glibc's heaps limited before threads start
    assert serving_settings["forked"] == [answer]  # the stroke process, forked last
    assert data._load_cached.cache_info().currsize == 2  # the training and the test set


def test_without_mnist_the_app_still_starts(tmp_path, monkeypatch, serving_settings):
    from torchvision.datasets import MNIST

    from mnist_demo import data
    from mnist_demo.classroom.server import prepare_to_serve

    def no_network(self):
        raise OSError("no network")

    monkeypatch.setattr(MNIST, "download", no_network)
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    data._load_cached.cache_clear()
    prepare_to_serve("answer")  # no exception: the Train tab explains, the other tabs work
    assert data._load_cached.cache_info().currsize == 0  # nothing was loaded...
    assert serving_settings["forked"] == ["answer"]  # ...and strokes are still served
    data._load_cached.cache_clear()


def test_prepare_to_serve_answers_the_draw_tabs_strokes_in_their_process(monkeypatch):
    from mnist_demo.classroom import server
    from mnist_demo.ui.app import build_demo, prepare_to_serve

    demo = build_demo()
    monkeypatch.setattr(server, "prepare_to_serve", lambda answer: ("process for", answer))
    prepare_to_serve(demo)
    handler = demo.stroke_handler
    assert handler.process == ("process for", handler.answer_in_process)
