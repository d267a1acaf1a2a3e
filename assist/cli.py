"""The `assist` command line. User errors exit 1 with a message, never a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from assist.config import Settings, get_settings
from assist.errors import AssistError
from assist.privacy import configure_logging

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _settings(knowledge: Path | None = None) -> Settings:
    try:
        settings = get_settings()
    except ValidationError as e:  # a bad ASSIST_* variable; the values are not echoed (secrets)
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}"
                             for err in e.errors(include_input=False, include_url=False))
        raise click.ClickException(f"settings from the environment: {problems}") from e
    if knowledge is not None:
        settings = settings.model_copy(update={"paths": settings.paths.model_copy(update={"knowledge_dir": knowledge})})
    return settings


@contextlib.contextmanager
def _database() -> Iterator[Engine]:
    """The service's database for a command: opened as the service opens it (its schema
    checked), a clear message if it cannot be, closed afterwards."""
    from assist.store.db import ready_engine

    try:
        engine = ready_engine(_settings().db_url)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    try:
        yield engine
    finally:
        engine.dispose()


knowledge_option = click.option("--knowledge", type=click.Path(path_type=Path), default=None,
                                help="knowledge folder (default: ASSIST_PATHS__KNOWLEDGE_DIR or ./knowledge)")


@click.group()
@click.option("--log-level", default="WARNING", show_default=True)
def main(log_level: str) -> None:
    """Xiaoer (店小二): FAQ and agent-assist for Chinese e-commerce customer service."""
    configure_logging(log_level.upper())


@main.command()
@click.option("--url", default=None, help="the running service (default: http://ASSIST_HOST:ASSIST_PORT)")
def reload(url: str | None) -> None:
    """Make the running service load its knowledge base and models again, without dropping a
    request (POST /v1/admin/reload with ASSIST_ADMIN_TOKEN; `kill -HUP <pid>` does the same)."""
    body = _reload_service(url)
    click.echo("reloaded: " + ", ".join(f"{k} {v}" for k, v in body["versions"].items()))


def _reload_service(url: str | None) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    settings = _settings()
    if settings.admin_token is None:
        raise click.ClickException("set ASSIST_ADMIN_TOKEN to the running service's admin token")
    base = url or f"http://{settings.host}:{settings.port}"
    req = urllib.request.Request(f"{base}/v1/admin/reload", method="POST", headers={
        "authorization": f"Bearer {settings.admin_token.get_secret_value()}"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as e:
        err = json.loads(e.read() or b"{}").get("error", {})
        for d in err.get("details", []):
            click.echo(d.get("msg", ""), err=True)
        raise click.ClickException(f"{e.code} {err.get('message', e.reason)}") from e
    except (urllib.error.URLError, OSError) as e:
        raise click.ClickException(f"cannot reach the service at {base}: {e}") from e


MODEL_NAMES = click.Choice(["intent", "sentiment", "escalation", "ranker"])
reload_option = click.option("--reload/--no-reload", "reload_after", default=True, show_default=True,
                             help="make the running service load it (needs ASSIST_ADMIN_TOKEN)")


@main.group()
def models() -> None:
    """Model versions: which one is in service, promote a version, roll back."""


@models.command("list")
@click.argument("name", type=MODEL_NAMES, required=False)
def models_list(name: str | None) -> None:
    """Every version of each model (or of NAME), newest first, with its state and, for a
    retrained version, the promotion gate's decision."""
    from assist.ops import registry

    settings = _settings()
    for n in [name] if name else registry.VERSIONED:
        click.echo(f"{n}:")
        try:
            found = registry.versions(settings.model_root(n))
        except AssistError as e:
            raise click.ClickException(str(e)) from e
        for v in found:
            why = f"  {v.gate['reason']}" if v.gate else ""
            click.echo(f"  {v.version:<24}{v.state:<12}{v.created_at:<27}{why}")
        if not found:
            click.echo("  (no versions)")


def _switched(name: str, old: str | None, new: str, reload_after: bool) -> None:
    click.echo(f"{name}: {new} in service (was {old})")
    _maybe_reload(reload_after)


def _maybe_reload(reload_after: bool) -> None:
    if not reload_after:
        click.echo("run `assist reload` (or restart the service) to use it")
        return
    try:
        _reload_service(None)
        click.echo("the running service reloaded")
    except click.ClickException as e:
        click.echo(f"not reloaded: {e.message}; run `assist reload` when the service is up", err=True)


@models.command("promote")
@click.argument("name", type=MODEL_NAMES)
@click.argument("version")
@reload_option
def models_promote(name: str, version: str, reload_after: bool) -> None:
    """Put VERSION of model NAME in service (a version listed by `assist models list`)."""
    from assist.ops import registry

    try:
        old = registry.promote(_settings().model_root(name), version)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    _switched(name, old, version, reload_after)


@models.command("rollback")
@click.argument("name", type=MODEL_NAMES)
@reload_option
def models_rollback(name: str, reload_after: bool) -> None:
    """Back to the version of NAME that was in service before this one."""
    from assist.ops import registry

    try:
        old, new = registry.rollback(_settings().model_root(name))
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    _switched(name, old, new, reload_after)


@main.group()
def db() -> None:
    """The database (interaction log and feedback): ASSIST_DATABASE_URL, default a SQLite file."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations the database does not have yet."""
    from assist.store import db as store_db

    settings = _settings()
    try:
        engine = store_db.make_engine(settings.db_url)
        before, after = store_db.upgrade(engine)
    except Exception as e:  # cannot connect, or a migration failed: say so, exit 1
        raise click.ClickException(f"cannot upgrade {settings.db_url.split('@')[-1]}: {e}") from e
    click.echo(f"schema revision {before or '(none)'} -> {after}" if before != after else f"schema at {after}: up to date")


@main.group()
def data() -> None:
    """Labelled data from ops, for retraining."""


@data.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="the set's name (default: the file's name)")
def data_import(file: Path, name: str | None) -> None:
    """Check FILE (CSV with a header, or JSON lines; columns text, intent and optionally
    sentiment, escalate, history) and keep it as a versioned set: every bad row is listed as
    file:line: message and nothing is imported (exit 1)."""
    from assist.ops.imports import ImportErrors, import_file

    settings = _settings()
    try:
        done = import_file(file, settings.paths.data_dir, name=name, max_chars=settings.max_message_chars)
    except ImportErrors as e:
        for err in e.problems:
            click.echo(err, err=True)
        raise click.ClickException(str(e)) from e
    click.echo(f"{'imported' if done.new else 'already imported'}: {done.rows} rows as {done.name} "
               f"(sha256 {done.sha256[:12]}) -> {done.file}")


@main.group("log")
def log_group() -> None:
    """The interaction log and feedback, as stored (masked)."""


@log_group.command("export")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
              default=None, help="only rows created at or after this time (UTC), e.g. 2026-12-01")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--table", type=click.Choice(["interactions", "feedback"]), default="interactions", show_default=True)
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="file (default: standard output)")
def log_export(since: dt.datetime | None, fmt: str, table: str, out: Any) -> None:
    """Write the stored rows as JSON lines or CSV for offline work."""
    from assist.store import export

    with _database() as engine:
        n = export.write(out, export.rows(engine, table, since.replace(tzinfo=dt.UTC) if since else None), fmt)
    click.echo(f"{n} {table} row(s)", err=True)


def _days(first: dt.datetime | None, last: dt.datetime | None) -> tuple[dt.date, dt.date]:
    """--from/--to as whole UTC days: by default the 30 days up to today."""
    end = (last or dt.datetime.now(dt.UTC)).date()
    start = first.date() if first else end - dt.timedelta(days=29)
    if start > end:
        raise click.ClickException(f"--from ({start}) is after --to ({end})")
    return start, end


@main.command()
@click.option("--from", "first", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="first day (UTC); default: 30 days before --to")
@click.option("--to", "last", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="last day, included; default: today")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON (what GET /v1/admin/stats returns)")
def report(first: dt.datetime | None, last: dt.datetime | None, as_json: bool) -> None:
    """Operations report from the log: top questions, widget deflection, suggestion acceptance
    and edit/reject reasons, escalations by route and reason, response times and SLAs; and the
    models retrained in the window, each with its promotion gate's table."""
    from assist.ops import gate, registry
    from assist.store import stats

    start, end = _days(first, last)
    span = stats.window(start, end)
    with _database() as engine:
        r = stats.report(engine, *span)
    r["retraining"] = registry.retraining_runs(_settings().model_root, *span)
    click.echo(json.dumps(r, ensure_ascii=False, indent=2) if as_json
               else stats.table(r) + "\n\n" + gate.runs_table(r["retraining"]))


@main.group()
def kb() -> None:
    """Check the knowledge base; review mined drafts."""


@kb.command("validate")
@knowledge_option
def kb_validate(knowledge: Path | None) -> None:
    """List every error as file:id: message (exit 1 if there is any), then warnings such as
    near-duplicate FAQ entries (exit 0)."""
    from assist.knowledge import lint, load_knowledge
    from assist.ops.drafts import load_drafts

    root = _settings(knowledge).paths.knowledge_dir
    kb_, errors = load_knowledge(root)
    drafts, draft_errors = load_drafts(root)
    for e in errors + draft_errors:
        click.echo(e)
    if errors or draft_errors:
        raise click.ClickException(f"{len(errors) + len(draft_errors)} error(s) in {root}")
    assert kb_ is not None
    warnings = lint(kb_)
    for w in warnings:
        click.echo(w)
    waiting = [d for _, d in drafts if d.status == "draft"]
    click.echo(f"ok: {len(kb_.faqs)} FAQs ({sum(len(f.paraphrases) + 1 for f in kb_.faqs.values())} phrasings), "
               f"{len(kb_.products)} products, {len(kb_.rules)} rules, {len(kb_.scripts)} scripts; "
               f"kb_version {kb_.version}" + (f"; {len(warnings)} warning(s)" if warnings else "")
               + (f"; {len(waiting)} draft(s) to review in drafts/ "
                  f"({sum(bool(d.answer.strip()) or bool(d.merge_into) for d in waiting)} ready to approve)"
                  if waiting else ""))


@kb.command("approve")
@click.argument("draft_id")
@click.option("--answer", default=None, help="the entry's answer (default: the draft's answer field)")
@click.option("--id", "entry_id", default=None, help="the new entry's id (default: faq-mined-<draft>)")
@knowledge_option
def kb_approve(draft_id: str, answer: str | None, entry_id: str | None, knowledge: Path | None) -> None:
    """Move a draft from drafts/ into faq/ (a new entry with the answer a person wrote, or new
    phrasings of the entry it duplicates); `assist reload` then serves it."""
    from assist.ops.drafts import approve

    try:
        click.echo(approve(_settings(knowledge).paths.knowledge_dir, draft_id, answer=answer, entry_id=entry_id))
    except AssistError as e:
        raise click.ClickException(str(e)) from e


@kb.command("dismiss")
@click.argument("draft_id")
@knowledge_option
def kb_dismiss(draft_id: str, knowledge: Path | None) -> None:
    """Keep a draft as dismissed, so its question is not drafted again."""
    from assist.ops.drafts import dismiss

    try:
        dismiss(_settings(knowledge).paths.knowledge_dir, draft_id)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"dismissed {draft_id}")


@main.command()
@click.option("--from", "first", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="first day (UTC); default: 30 days before --to")
@click.option("--to", "last", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="last day, included; default: today")
@click.option("--min-count", type=click.IntRange(2, None), default=5, show_default=True,
              help="how often a question must have come up to be drafted")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="the average similarity that holds a group together")
@click.option("--merge-similarity", type=click.FloatRange(0, 1), default=0.85, show_default=True,
              help="from this similarity to an existing entry, offer new phrasings for it instead")
@knowledge_option
def mine(first: dt.datetime | None, last: dt.datetime | None, min_count: int, threshold: float,
         merge_similarity: float, knowledge: Path | None) -> None:
    """Group the logged questions Xiaoer did not answer well (handed off, low confidence,
    rejected) into draft FAQ entries under knowledge/drafts/, for a person to answer and approve."""
    from assist.ops.drafts import FOLDER
    from assist.ops.mining import mine as run
    from assist.pipeline import AssistPipeline
    from assist.store import stats

    start, end = _days(first, last)
    settings = _settings(knowledge)
    try:
        pipeline = AssistPipeline.load(settings)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    with _database() as engine:
        found = run(pipeline, engine, *stats.window(start, end), min_count=min_count, threshold=threshold,
                    merge_similarity=merge_similarity, folder=settings.paths.knowledge_dir / FOLDER)
    for d in found.drafts:
        near = f"; nearest {d.nearest['id']} ({d.nearest['similarity']})" if d.nearest else ""
        what = f"new phrasings for {d.merge_into}" if d.merge_into else "new entry"
        click.echo(f"{d.id}: {d.count}× [{d.intent}] {d.question}  → {what}{near}")
    click.echo(f"{found.questions} question(s) not answered well from {start} to {end}: {len(found.drafts)} draft(s) "
               f"written to {settings.paths.knowledge_dir / FOLDER}"
               + (f"; {len(found.skipped)} already drafted ({', '.join(found.skipped)})" if found.skipped else ""))


@main.group()
def index() -> None:
    """Build the retrieval index."""


@index.command("build")
@knowledge_option
@click.option("--out", type=click.Path(path_type=Path), default=None, help="default: models/index/<kb_version>")
def index_build(knowledge: Path | None, out: Path | None) -> None:
    """Tokenize and embed every phrasing, then save BM25 + faiss with a manifest."""
    from tqdm import tqdm

    from assist.knowledge import require_knowledge
    from assist.normalize import TextNormalizer
    from assist.pipeline import new_index
    from assist.retrieval.encoder import SentenceTransformerEncoder

    settings = _settings(knowledge)
    try:
        kb_ = require_knowledge(settings.paths.knowledge_dir)
        normalizer = TextNormalizer.for_shop(kb_)
        encoder = SentenceTransformerEncoder(path=settings.model_path("embedding"))
        encoder.warm_up()
        idx = new_index(settings, normalizer, encoder)
        entries = kb_.entries()
        idx.build(entries, kb_version=kb_.version,
                  progress=lambda rows: tqdm(rows, desc="indexing phrasings", unit="row", file=sys.stderr))
        target = out or settings.paths.index_dir / kb_.version
        idx.save(target)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"index {kb_.version}: {len(entries)} entries, {len(idx.rows_)} rows -> {target}")


@main.command()
@click.option("--host", default=None, help="default: ASSIST_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="default: ASSIST_PORT or 8000")
@click.option("--workers", type=int, default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Run the HTTP API (docs at /docs)."""
    import uvicorn

    from assist.api.app import server_options
    from assist.pipeline import preflight

    settings = _settings()
    problems = preflight(settings)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise click.ClickException(f"cannot serve: {len(problems)} problem(s) above")
    options = server_options(settings) | {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    uvicorn.run("assist.api.main:app", workers=workers, **options)  # type: ignore[arg-type]


@main.command()
@click.argument("text")
@knowledge_option
@click.option("--top-k", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the /v1/suggest response as JSON")
def ask(text: str, knowledge: Path | None, top_k: int, as_json: bool) -> None:
    """Ask as a customer would; prints what the agent sidebar would show."""
    from assist.api.convert import suggest_response
    from assist.pipeline import AssistPipeline

    try:
        pipeline = AssistPipeline.load(_settings(knowledge))
        result = pipeline.suggest(text, history=[], order={}, top_k=top_k)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    resp = suggest_response(result, request_id="cli", versions=pipeline.versions)
    if as_json:
        click.echo(json.dumps(resp.model_dump(), ensure_ascii=False, indent=2))
        return
    if resp.intent and resp.sentiment and resp.escalation:
        e = resp.escalation
        click.echo(f"intent: {resp.intent.id} ({resp.intent.phase}, {resp.intent.confidence:.2f})   "
                   f"sentiment: {resp.sentiment.label} (intensity {resp.sentiment.intensity:.2f})   "
                   f"escalation: {e.decision} p={e.probability:.2f}"
                   + (f" route={e.route} {e.priority}" if e.route else ""))
        for r in e.reasons:
            click.echo(f"  reason: {r.code} «{r.evidence}» {r.detail}")
    for s in resp.suggestions:
        click.echo(f"{s.rank}. [{s.kind}:{s.entry_id}] confidence {s.confidence:.2f}"
                   + ("" if s.ready else f" (fill: {', '.join(s.missing_variables)})"))
        click.echo(f"   {s.text}")
    if not resp.suggestions:
        click.echo("no suggestion above the confidence threshold")


def _training(module: str):  # type: ignore[no-untyped-def]
    """train/evaluate live in training/, which needs the [train] extra."""
    import importlib

    try:
        return importlib.import_module(f"training.{module}")
    except ImportError as e:
        raise click.ClickException(f"{e}; install the training extra: pip install -e '.[train]'") from e


@main.command()
@click.argument("model", type=click.Choice(["intent", "sentiment", "escalation", "ranker"]))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write the model here only (default: a new version under models/<model>/, put in service)")
def train(model: str, out: Path | None) -> None:
    """Train a model on training/data (train split) and write it with its report. The ranker
    reads the intent model's probabilities: train it after intent."""
    settings = _settings()
    try:
        if model == "ranker":
            report = _training("ranker").train(settings=settings, out=out)
        else:
            report = _training("classifiers").train(model, settings=settings, out=out)
    except (AssistError, ImportError) as e:
        raise click.ClickException(str(e)) from e
    click.echo(report)


@main.command()
@click.argument("model", type=click.Choice(["intent", "sentiment", "escalation", "ranker", "all"]))
@click.option("--promote/--no-promote", default=True, show_default=True,
              help="put the challenger in service when the gate passes it (--no-promote: keep it as a candidate)")
@reload_option
def retrain(model: str, promote: bool, reload_after: bool) -> None:
    """Train a challenger on the shipped data + imported sets + agents' corrections, compare it
    with the model in service on the same fixed sets, and promote it only when the gate passes
    it (the table says why either way; a refused challenger stays listed as rejected). `all`:
    intent, sentiment, escalation (it reads the sentiment model), then the ranker (it reads the
    intent model), each skipped when there is nothing new to learn from."""
    settings = _settings()
    module = _training("retrain")
    names = list(module.RETRAINERS) if model == "all" else [model]
    promoted = []
    with _database() as engine:
        for name in names:
            try:
                result = module.RETRAINERS[name](settings, engine, promote=promote)
            except AssistError as e:
                if model != "all":
                    raise click.ClickException(str(e)) from e
                click.echo(f"{name}: {e}")
                continue
            click.echo(result.report())
            if result.decision.promote and promote:
                promoted.append(result)
            elif result.decision.promote:
                click.echo(f"kept as a candidate: `assist models promote {name} {result.challenger}` puts it in service")
    for result in promoted:
        click.echo(f"{result.name}: {result.challenger} in service (was {result.champion})")
    if promoted:
        _maybe_reload(reload_after)


@main.command()
@click.argument("what", type=click.Choice(["intent", "sentiment", "escalation", "ranker", "retrieval", "real-traffic"]))
def evaluate(what: str) -> None:
    """Evaluate the model in service on the test split (real-traffic: on our labelled real
    chats, beside the test split); prints a table, writes training/reports/."""
    settings = _settings()
    try:
        if what == "retrieval":
            report = _training("eval_retrieval").run(settings=settings)
        elif what == "real-traffic":
            report = _training("eval_real_traffic").run(settings=settings)
        elif what == "ranker":
            report = _training("ranker").evaluate(settings=settings)
        else:
            report = _training("classifiers").evaluate(what, settings=settings)
    except AssistError as e:
        raise click.ClickException(str(e)) from e
    click.echo(report)


if __name__ == "__main__":
    main()
