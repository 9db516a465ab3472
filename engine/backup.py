"""Backups: SQLite's online backup API, ``pg_dump``/``pg_restore`` for PostgreSQL.

A backup file is created ``0600`` (and a folder it needs ``0700``) before anything is written in
it: it holds what the database holds.
"""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from .private_files import private_file, private_folder


class BackupError(RuntimeError):
    pass


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                                                   reverse=True)), None)
    if not found:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools")
    return str(found)


def _sqlite_file(url: URL) -> str:
    if url.database is None:  # sqlite:// names no file
        raise BackupError("an in-memory SQLite database has no file to back up or restore")
    return url.database


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database to ``target`` while the service runs."""
    parsed = make_url(url)
    if not target.parent.exists():
        private_folder(target.parent)
    private_file(target)  # 0600 before a byte is written: SQLite and pg_dump keep the mode
    if parsed.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_file(parsed))
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return target
    done = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", _libpq(url)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database's content with a backup made by :func:`backup` (stop the service first)."""
    if not source.is_file():
        raise BackupError(f"no such backup: {source}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        try:
            origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            origin.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"not a SQLite backup: {error}") from None
        destination = sqlite3.connect(_sqlite_file(parsed))
        try:
            origin.backup(destination)
        finally:
            destination.close()
            origin.close()
        return
    done = subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                           f"--dbname={_libpq(url)}", str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")
