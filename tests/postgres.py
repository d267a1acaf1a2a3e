"""A throwaway PostgreSQL cluster on a loopback port for the storage tests: Debian's
postgresql package (installed here if missing and we may), initdb in a temporary folder
owned by the postgres user (the server refuses to run as root), stopped afterwards."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def ensure_installed() -> Path | None:
    """The server's bin folder; installs Debian's postgresql when it is missing and we are root."""
    if _bin() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, timeout=600, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"], check=False,
                       env=env, timeout=900, capture_output=True)
    return _bin()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """Yields a SQLAlchemy URL of an empty database `assist` in a new cluster."""
    bindir = ensure_installed()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed and cannot be installed here (needs root and apt-get)")
    root = Path(tempfile.mkdtemp(prefix="assist-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_postgres, *cmd], check=True, timeout=120, capture_output=True)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=on", "start")
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "assist")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/assist"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], check=False,
                       timeout=120, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
