from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from assist.api.app import create_app
from assist.config import ROOT, Paths, Settings
from assist.pipeline import AssistPipeline

TEST_KB = Path(__file__).parent / "data" / "kb"


def make_settings(tmp: Path, knowledge: Path = TEST_KB) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        paths=Paths(knowledge_dir=knowledge, models_dir=ROOT / "models", index_dir=tmp / "index",
                    data_dir=tmp / "data"),
    )


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture()
def kb_copy(tmp_path: Path) -> Path:
    """A private copy of the tiny test knowledge base, for tests that break it."""
    dst = tmp_path / "kb"
    shutil.copytree(TEST_KB, dst)
    return dst


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> AssistPipeline:
    """The real pipeline (shipped models) over the tiny test knowledge base; loaded once."""
    return AssistPipeline.load(make_settings(tmp_path_factory.mktemp("pipeline")))


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory: pytest.TempPathFactory) -> AssistPipeline:
    """The real pipeline over the bundled demo shop (knowledge/)."""
    return AssistPipeline.load(make_settings(tmp_path_factory.mktemp("demo"), ROOT / "knowledge"))


@pytest.fixture()
def client(pipeline: AssistPipeline, settings: Settings) -> TestClient:
    with TestClient(create_app(settings, pipeline=pipeline)) as c:
        yield c


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a database in a throwaway PostgreSQL cluster (tests/postgres.py)."""
    from postgres import cluster

    with cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the service runs on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'assist.db'}"
    import uuid

    from sqlalchemy import create_engine, text

    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def serve(tmp: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`assist serve` as its own process on a free loopback port over the test knowledge
    base, once /readyz answers 200: (process, base URL). The caller stops it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full = {**os.environ, "ASSIST_PATHS__KNOWLEDGE_DIR": str(TEST_KB), "ASSIST_PATHS__INDEX_DIR": str(tmp / "index"),
            "ASSIST_PATHS__DATA_DIR": str(tmp / "data"), "ASSIST_WIDGET_RATE_LIMIT": "100000/minute", **env}
    with open(tmp / "server.log", "ab") as log:  # the child keeps its own copy of the file
        proc = subprocess.Popen([sys.executable, "-m", "assist", "serve", "--port", str(port)], env=full,
                                stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert proc.poll() is None, (tmp / "server.log").read_text()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not become ready")
