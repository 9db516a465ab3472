"""Private files: the instance folder and everything Himaya writes in it (the SQLite database and
its ``-wal``/``-shm`` files, the secret key, backups) are readable by the service's account only.

- Folders are created ``0700`` and files ``0600`` with explicit modes (never the process umask,
  which other libraries share): :func:`private_folder`, :func:`private_file`. SQLite creates its
  ``-wal`` and ``-shm`` files with the mode of the database file, so a database file made
  ``0600`` keeps them private too.
- At start-up, :func:`tighten` walks the instance folder and takes the group's and others' bits
  off anything found too open (an installation older than this rule, a file copied in by hand);
  the caller logs how many once, never a file's content.
- A file system that ignores modes (some network or Windows mounts) is left as it is: ``chmod``
  failing is not an error, the mount's own options then decide.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
OPEN_BITS = stat.S_IRWXG | stat.S_IRWXO  # what nobody but the owner may have


def _restrict(path: Path) -> bool:
    """Take the group's and others' bits off ``path``; True when it had some (and lost them)."""
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink() or not mode & OPEN_BITS:
            return False
        os.chmod(path, mode & ~OPEN_BITS)
    except OSError:
        return False
    return True


def private_folder(path: Path) -> Path:
    """``path`` and any missing parents it needs, created ``0700``; an existing folder too open is
    tightened (its parents outside Himaya's own folder are left alone)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    for folder in missing:  # mkdir's parents get the umask's mode, not ``mode``
        try:
            os.chmod(folder, FOLDER_MODE)
        except OSError:
            pass
    _restrict(path)
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty ``0600`` if missing, else tightened: a file another program then
    writes (SQLite, ``pg_dump``) keeps the mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        _restrict(path)
    return path


def tighten(folder: Path) -> int:
    """Every folder and file under ``folder`` (itself included) that the group or others could
    read, write or enter, made owner-only; how many there were."""
    if not folder.is_dir():
        return 0
    count = int(_restrict(folder))
    for root, folders, files in os.walk(folder):
        for name in (*folders, *files):
            count += _restrict(Path(root) / name)
    return count


def sqlite_files(database: Path) -> tuple[Path, ...]:
    """A SQLite database's file and the two files WAL mode keeps beside it."""
    return database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")
