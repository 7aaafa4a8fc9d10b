"""Nothing left behind: files older than the cache's age limit are removed, whoever wrote them.

Gradio's `delete_cache` removes only the files the running process wrote: after a crash or
a restart, the earlier process's files (finished runs' galleries, downloads) stayed on disk
and were served for good. So at start, and every few minutes after, this removes every file
older than the age limit from Gradio's cache folder, and every download folder
(`mnist-train-*` in the system's temp folder) whose newest file is that old.

    remove_old_files(cache_folder, older_than=1800, keep=files_components_need)

Ages are taken from a file's ctime, as Gradio's own cleanup does: copying a file into the
cache keeps its modification time but not its ctime.
"""

import os
import shutil
import tempfile
import time
from pathlib import Path

EXPORT_PREFIX = "mnist-train-"  # the Train tab's download folders (ui/train_tab.py)


def remove_old_files(folder, older_than: float, keep=frozenset()) -> tuple[int, int]:
    """Remove the files under `folder` not changed for `older_than` seconds (except those in
    `keep`, as absolute paths), then the folders left empty as long. Returns (files, bytes)."""
    cutoff = time.time() - older_than
    removed, freed = 0, 0
    root = Path(folder)
    if not root.is_dir():
        return 0, 0
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(directory, name)
            try:
                stat = os.lstat(path)
                if stat.st_ctime < cutoff and path not in keep:
                    os.remove(path)
                    removed, freed = removed + 1, freed + stat.st_size
            except OSError:  # gone meanwhile, or not ours to remove
                continue
        if directory != str(root):
            _remove_if_empty_and_old(directory, cutoff)
    return removed, freed


def _remove_if_empty_and_old(directory: str, cutoff: float) -> None:
    """An empty folder unchanged since `cutoff` (a fresh one may be about to get a file)."""
    try:
        if os.lstat(directory).st_mtime < cutoff and not os.listdir(directory):
            os.rmdir(directory)
    except OSError:
        pass


def remove_old_downloads(older_than: float, folder=None) -> int:
    """Remove the download folders (EXPORT_PREFIX*) with nothing newer than `older_than`
    seconds; a live session that downloads again makes a new one. Returns how many."""
    cutoff = time.time() - older_than
    removed = 0
    for path in Path(folder or tempfile.gettempdir()).glob(f"{EXPORT_PREFIX}*"):
        try:
            if not path.is_dir() or path.is_symlink():
                continue
            times = [path.lstat().st_ctime] + [p.lstat().st_ctime for p in path.rglob("*")]
            if max(times) < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
