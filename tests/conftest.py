from __future__ import annotations

import shutil
from pathlib import Path

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
