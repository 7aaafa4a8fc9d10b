"""The app around the tabs: one student's session from start to end."""

from mnist_demo.ui.app import end_session, new_session


def test_a_finished_session_leaves_no_download_folder(tmp_path):
    session = new_session()
    end_session(session)  # nothing downloaded: nothing to remove
    folder = tmp_path / "mnist-train-x"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"weights")
    session["export_dir"] = str(folder)
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


def test_mnist_is_read_before_the_class_arrives(mnist_dir, monkeypatch):
    """Reading MNIST pauses every request for ~2 s: `prepare_to_serve` does it at start-up,
    so the first student's run does not."""
    import gc

    from mnist_demo import data
    from mnist_demo.ui import app
    from mnist_demo.ui.app import prepare_to_serve

    monkeypatch.setattr(gc, "freeze", lambda: None)  # keep the test process collectable
    monkeypatch.setattr(app, "answer_strokes_in_a_process", lambda: None)  # no fork here
    thresholds = []  # the test process keeps its own
    monkeypatch.setattr(gc, "set_threshold", lambda *counts: thresholds.append(counts))
    data._load_cached.cache_clear()
    prepare_to_serve()
    assert thresholds == [app.GC_THRESHOLD]  # rarer collections while serving
    assert data._load_cached.cache_info().currsize == 2  # the training and the test set


def test_without_mnist_the_app_still_starts(tmp_path, monkeypatch):
    import gc

    from torchvision.datasets import MNIST

    from mnist_demo.ui import app
    from mnist_demo.ui.app import prepare_to_serve

    def no_network(self):
        raise OSError("no network")

    monkeypatch.setattr(MNIST, "download", no_network)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    monkeypatch.setattr(gc, "set_threshold", lambda *thresholds: None)
    monkeypatch.setattr(app, "answer_strokes_in_a_process", lambda: None)  # no fork here
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path))
    prepare_to_serve()  # no exception: the Train tab explains, the other tabs work
