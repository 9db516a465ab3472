"""What the benchmarks start: a free local port and a throwaway PostgreSQL (``scripts/pg-throwaway``)."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_THROWAWAY = str(ROOT / "scripts" / "pg-throwaway")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_postgres(folder: Path | str, *, durable: bool = True) -> str:
    """Start a PostgreSQL server in ``folder`` (it must be traversable by ``postgres``: a folder
    of its own under /tmp) and return its URL. ``durable`` keeps PostgreSQL's default fsync and
    synchronous commit; without it they are off, as in the test suite."""
    env = {**os.environ, "HIMAYA_PG_DURABLE": "1" if durable else "0"}
    out = subprocess.run([PG_THROWAWAY, "start", str(folder), str(free_port())], check=True,
                         capture_output=True, text=True, env=env)
    return out.stdout.strip().splitlines()[-1]


def stop_postgres(folder: Path | str) -> None:
    subprocess.run([PG_THROWAWAY, "stop", str(folder)], check=False)
