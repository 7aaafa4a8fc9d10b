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
