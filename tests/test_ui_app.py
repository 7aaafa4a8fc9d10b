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
