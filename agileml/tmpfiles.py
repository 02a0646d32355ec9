"""Upload temporary files per process, and removal of those a dead process left behind.

Each process writes its upload temporary files under ``<FILE_UPLOAD_TEMP_DIR root>/<host>-<pid>/``.
A request that fails cleanly deletes its files itself (Django closes them); a process that is
killed mid-upload cannot, so its folder is removed when its gunicorn master sees it exit and
at start-up (``manage.py clear_upload_tmp``, run by ``make run``). Plain functions, no Django.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
from pathlib import Path


def process_folder_name(host: str | None = None, pid: int | None = None) -> str:
    return f"{host or socket.gethostname()}-{os.getpid() if pid is None else pid}"


def make_process_folder(root: Path) -> Path:
    """Create this process's folder; an empty one is removed again when the process exits normally."""
    folder = root / process_folder_name()
    folder.mkdir(parents=True, exist_ok=True)
    atexit.register(_remove_if_empty, folder, os.getpid())
    return folder


def _remove_if_empty(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited the hook
        with contextlib.suppress(OSError):
            folder.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_process_folder(root: Path, pid: int) -> bool:
    """Remove the folder of process ``pid`` on this host; True if there was one."""
    folder = root / process_folder_name(pid=pid)
    if not folder.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def remove_stale(root: Path) -> list[str]:
    """Remove this host's folders whose process is gone, and loose files; return what was removed.

    Folders of other hosts are left alone: their processes cannot be checked from here.
    """
    removed = []
    prefix = f"{socket.gethostname()}-"
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        if entry.is_dir():
            pid = entry.name.removeprefix(prefix)
            if not entry.name.startswith(prefix) or not pid.isascii() or not pid.isdigit() or _alive(int(pid)):
                continue
            shutil.rmtree(entry, ignore_errors=True)
        else:
            # Loose files come from before per-process folders, or from a process writing
            # straight into the root; none belongs to a live upload once start-up runs.
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed
