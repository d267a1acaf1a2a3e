"""The database: an engine from settings (a SQLite file by default, PostgreSQL when
ASSIST_DATABASE_URL names one), its schema revision, and migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect

from assist.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """SQLite in WAL mode with full fsync on commit (an acknowledged row survives a power
    cut), foreign keys on; PostgreSQL through psycopg 3."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    """The schema revision this code expects."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every migration not yet applied: (revision before, revision after)."""
    before = current(engine)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, current(engine) or ""


def ready_engine(url: str) -> Engine:
    """The engine of a database the service can use: an empty one gets the schema (so the
    default SQLite file needs no set-up); one at another revision is refused."""
    engine = make_engine(url)
    try:
        rev = current(engine)
        if rev is None and not inspect(engine).get_table_names():
            upgrade(engine)
        elif rev != head():
            raise StoreError(f"the database {engine.url.render_as_string(hide_password=True)} has schema revision "
                             f"{rev}, this version of the service needs {head()}: run `assist db upgrade`"
                             + (" (a newer service made it?)" if rev and rev > head() else ""))
    except StoreError:
        engine.dispose()
        raise
    except Exception as e:  # cannot connect, cannot read: say which database
        engine.dispose()
        raise StoreError(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {e}") from e
    return engine
