"""Memory with a ceiling and nothing left behind: idle sessions expire with their runs,
models and files (mnist_demo/classroom/sessions.py), and old files go, also an earlier
process's (mnist_demo/classroom/leftovers.py)."""

import datetime
import gc
import os
import tempfile
import time
import types
import weakref
from pathlib import Path

import gradio as gr
import pytest
from gradio.state_holder import StateHolder
from gradio_client import Client

from mnist_demo.classroom import leftovers, sessions
from mnist_demo.classroom.leftovers import EXPORT_PREFIX, remove_old_downloads, remove_old_files
from mnist_demo.classroom.runs import FINISHED, RUNNING, StudentSession
from mnist_demo.classroom.sessions import (
    close_value,
    drop_models_over_budget,
    expire_idle_sessions,
    model_bytes,
)
from mnist_demo.ui.app import new_session

from conftest import serving
from helpers import SEVEN, new_run, train_settings, wait_until

IDLE = 60.0


@pytest.fixture
def holder():
    """Gradio's own StateHolder for a page with one student session state."""
    with gr.Blocks() as demo:
        state = gr.State(new_session)
    holder = StateHolder()
    holder.set_blocks(demo)
    holder.state_id = state._id
    return holder


def student(holder, session_hash: str, idle_for: float) -> StudentSession:
    """The session `session_hash`, last used `idle_for` seconds ago."""
    session = holder[session_hash][holder.state_id]
    holder.time_last_used[session_hash] -= datetime.timedelta(seconds=idle_for)
    return session


def test_idle_sessions_go_with_their_runs_models_and_folder(holder, tmp_path):
    idle = student(holder, "idle", IDLE + 1)
    record = idle.start_run(new_run(optimizer="adam").config)
    record.status, record.model = FINISHED, object()
    idle.draw_model = object()
    idle.export_dir = str(tmp_path / "downloads")
    Path(idle.export_dir).mkdir()
    active = student(holder, "active", IDLE - 5)

    assert expire_idle_sessions(holder, IDLE, close_value) == 1
    assert "idle" not in holder.session_data and "idle" not in holder.time_last_used
    assert idle.runs == [] and idle.draw_model is None
    assert not Path(idle.export_dir).exists()
    assert holder.session_data["active"].state_data[holder.state_id] is active


def test_a_session_training_or_waiting_in_the_queue_stays(holder):
    training = student(holder, "training", IDLE * 10)
    training.start_run(new_run(optimizer="adam").config).status = RUNNING
    student(holder, "queued", IDLE * 10)

    expired = expire_idle_sessions(holder, IDLE, close_value, waiting=lambda h: h == "queued")
    assert expired == 0
    assert set(holder.session_data) == {"training", "queued"}
    # ...and their idle time starts again now: once done, they stay IDLE seconds more.
    for record in training.runs:
        record.status = FINISHED
    assert expire_idle_sessions(holder, IDLE, close_value) == 0


def test_a_session_that_never_made_its_state_goes_too(holder):
    holder["no state yet"]  # an event without the student's state (the Cross-entropy tab)
    holder.time_last_used["no state yet"] -= datetime.timedelta(seconds=IDLE + 1)
    assert expire_idle_sessions(holder, IDLE, close_value) == 1
    assert holder.session_data == {}


def finished_run(session: StudentSession, hidden_size: int = 128):
    """A finished, evaluated run of `session`, with its model."""
    from mnist_demo.model import make_model

    record = session.start_run(new_run(optimizer="adam", hidden_size=hidden_size).config)
    record.status, record.model, record.result = FINISHED, make_model(hidden_size), "evaluated"
    return record


def test_models_beyond_the_budget_go_oldest_first_from_the_least_active_sessions(holder):
    least_active, most_active = student(holder, "a", 10), student(holder, "b", 1)
    old, in_draw = finished_run(least_active), finished_run(least_active)
    least_active.draw_model = in_draw.model
    newer = [finished_run(most_active) for _ in range(3)]
    size = model_bytes(old.model)  # 784*128 + 128 + 128*10 + 10 float32 = 0.4 MB

    assert drop_models_over_budget(holder, 10 * size) == 0  # within the budget: all stay
    assert drop_models_over_budget(holder, 2 * size) == 2
    assert old.model is None and newer[0].model is None  # the oldest, least active first
    assert in_draw.model is not None  # used in the Draw tab: stays
    assert [r.model is not None for r in newer] == [False, True, True]
    assert old.result == "evaluated"  # its curves and results stay


def make_file(path: Path, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_old_files_go_fresh_and_kept_ones_stay(tmp_path):
    old = make_file(tmp_path / "a1" / "old.png", b"12345")
    kept = make_file(tmp_path / "a2" / "kept.png")
    time.sleep(1.1)  # ages come from ctime, which a test cannot set back
    fresh = make_file(tmp_path / "a3" / "fresh.png")

    assert remove_old_files(tmp_path, 1.0, keep={str(kept)}) == (1, 5)
    assert not old.exists() and kept.exists() and fresh.exists()
    assert (tmp_path / "a1").exists()  # emptied just now: removed once it has been empty long
    assert remove_old_files(tmp_path / "missing", 1.0) == (0, 0)


def test_old_download_folders_go(tmp_path):
    old = make_file(tmp_path / f"{EXPORT_PREFIX}old" / "w.pt")
    other = make_file(tmp_path / "someone-else" / "w.pt")
    time.sleep(1.1)
    fresh = make_file(tmp_path / f"{EXPORT_PREFIX}fresh" / "w.pt")

    assert remove_old_downloads(1.0, folder=tmp_path) == 1
    assert not old.parent.exists() and other.exists() and fresh.exists()


# ------------------------------------------------------------------------------------------
# The launched app
# ------------------------------------------------------------------------------------------


@pytest.fixture
def quick_expiry(monkeypatch, tmp_path):
    """Sessions idle for 5 s expire, looked for every 0.2 s; a fresh Gradio cache."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sessions, "IDLE_SECONDS", 5.0)
    monkeypatch.setattr(sessions, "SWEEP_SECONDS", 0.2)


@pytest.mark.slow
def test_an_idle_session_expires_and_its_runs_models_and_files_are_freed(mnist_dir, quick_expiry):
    from mnist_demo.ui.app import build_demo, launch_options

    demo = build_demo()
    with serving(demo, **launch_options()) as url:
        client = Client(url, verbose=False, download_files=False)  # answers come at once
        client.predict(*train_settings(unit="steps", amount=2, train_size=100), api_name="/train")
        files = client.predict(1, api_name="/download_weights")
        session_hash = client.session_hash
        state = demo.state_holder.session_data[session_hash]
        (session,) = [v for v in state.state_data.values() if isinstance(v, StudentSession)]
        (record,) = session.runs
        model, export_dir = weakref.ref(record.model), Path(session.export_dir)
        assert model() is not None and export_dir.is_dir() and files
        del state, session, record

        wait_until(lambda: session_hash not in demo.state_holder.session_data, timeout=20)
        wait_until(lambda: not export_dir.exists(), timeout=5)
        gc.collect()
        assert model() is None, "the expired session's model is still in memory"
        client.close()


@pytest.mark.slow
def test_files_left_by_an_earlier_process_are_removed_at_start(quick_expiry, tmp_path, monkeypatch):
    from mnist_demo.ui import app as ui_app

    monkeypatch.setattr(ui_app, "CACHE_CLEANUP", (600, 1))  # files older than 1 s go
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    cache = Path(os.environ["GRADIO_TEMP_DIR"])
    stale = make_file(cache / "0123abcd" / "mistakes.png")
    stale_download = make_file(tmp_path / "tmp" / f"{EXPORT_PREFIX}x" / "mnist_mlp_run1.pt")
    time.sleep(1.5)
    fresh = make_file(cache / "4567ef" / "new.png")
    # The cleanup's clock stops now: however long the app takes to start on a busy
    # machine, the fresh file stays under a second old and the stale ones over.
    now = time.time()
    monkeypatch.setattr(leftovers, "time", types.SimpleNamespace(time=lambda: now))

    with serving(ui_app.build_demo(), **ui_app.launch_options()):
        assert not stale.exists(), "a file of an earlier process is still in the cache"
        assert not stale_download.exists()
        assert fresh.exists()


@pytest.mark.slow
def test_sessions_keep_no_copy_of_the_page_and_no_drawing(quick_expiry):
    """A new session costs ~7 kB and microseconds, not Gradio's ~240 kB copy of every
    component's settings (30-60 ms to build), and keeps no copy of what it sent."""
    from gradio.state_holder import SessionState

    from mnist_demo.ui.app import build_demo, launch_options
    from mnist_demo.ui.lean_sessions import LeanSessionState, LeanStateHolder

    demo = build_demo()
    with serving(demo, **launch_options()) as url:
        assert isinstance(demo.state_holder, LeanStateHolder)
        client = Client(url, verbose=False)
        headline, *_ = client.predict(SEVEN, api_name="/predict")
        assert "**7**" in headline  # the app works with lean sessions
        state = demo.state_holder.session_data[client.session_hash]
        assert isinstance(state, LeanSessionState)
        assert len(state.config_values) == 0
        assert len(SessionState(demo).config_values) > 100  # Gradio's own: every component
        client.close()
