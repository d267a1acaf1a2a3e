"""Model versions: the pointer to the version in service, promote and rollback from the CLI and
the admin API (which reloads, and refuses a version that cannot load)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_settings
from fastapi.testclient import TestClient
from pydantic import SecretStr

from assist.api.app import create_app
from assist.cli import main
from assist.config import ROOT, Paths
from assist.ops import registry

TOKEN = "t0k3n-for-the-models-tests-only"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def _copy_version(src: Path, dst: Path, version: str, **manifest_fields: str) -> None:
    shutil.copytree(src, dst / version)
    manifest = dst / version / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**data, "version": version, **manifest_fields}), encoding="utf-8")


@pytest.fixture()
def models_dir(tmp_path: Path) -> Path:
    """The shipped models, with a second intent version v2 beside the one in service."""
    out = tmp_path / "models"
    out.mkdir()
    for name in ("embedding", "sentiment", "escalation", "ranker"):
        (out / name).symlink_to(ROOT / "models" / name)
    shipped = registry.resolve(ROOT / "models" / "intent")
    _copy_version(shipped, out / "intent", shipped.name)
    _copy_version(shipped, out / "intent", "v2")
    registry.promote(out / "intent", shipped.name)
    return out


def test_promote_and_rollback_move_the_pointer(models_dir):
    root = models_dir / "intent"
    first = registry.in_service(root)
    assert registry.resolve(root) == root / first
    assert registry.promote(root, "v2") == first
    assert registry.resolve(root) == root / "v2"
    states = {v.version: v.state for v in registry.versions(root)}
    assert states == {"v2": "in_service", first: "previous"}
    assert registry.rollback(root) == ("v2", first)
    assert registry.in_service(root) == first
    with pytest.raises(registry.UnknownVersion, match="nothing to roll back"):
        registry.rollback(root)
    with pytest.raises(registry.UnknownVersion, match="no version 'v9'"):
        registry.promote(root, "v9")
    with pytest.raises(registry.UnknownVersion):
        registry.promote(root, "../sentiment")


def test_a_damaged_version_cannot_be_promoted(models_dir):
    root = models_dir / "intent"
    (root / "v2" / "labels.json").write_text("[]", encoding="utf-8")
    with pytest.raises(registry.UnknownVersion, match="does not match"):
        registry.promote(root, "v2")
    assert registry.in_service(root) != "v2"


def test_models_cli(models_dir, monkeypatch):
    monkeypatch.setenv("ASSIST_PATHS__MODELS_DIR", str(models_dir))
    from assist.config import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(main, ["models", "list", "intent"])
        assert listed.exit_code == 0 and "v2" in listed.output and "in_service" in listed.output
        moved = runner.invoke(main, ["models", "promote", "intent", "v2", "--no-reload"])
        assert moved.exit_code == 0, moved.output
        assert "v2 in service" in moved.output and registry.in_service(models_dir / "intent") == "v2"
        bad = runner.invoke(main, ["models", "promote", "intent", "nope", "--no-reload"])
        assert bad.exit_code == 1 and "no version 'nope'" in bad.output and "Traceback" not in bad.output
        back = runner.invoke(main, ["models", "rollback", "intent", "--no-reload"])
        assert back.exit_code == 0 and registry.in_service(models_dir / "intent") != "v2"
    finally:
        get_settings.cache_clear()


@pytest.fixture()
def admin(tmp_path, models_dir):
    base = make_settings(tmp_path)
    settings = base.model_copy(update={"admin_token": SecretStr(TOKEN),
                                       "paths": Paths(**{**base.paths.model_dump(), "models_dir": models_dir})})
    with TestClient(create_app(settings)) as c:
        yield c


def test_admin_promotes_reloads_and_rolls_back(admin, models_dir):
    first = registry.in_service(models_dir / "intent")
    listed = admin.get("/v1/admin/models", headers=AUTH).json()
    assert listed["intent"]["in_service"] == first
    assert {v["version"] for v in listed["intent"]["versions"]} == {first, "v2"}

    r = admin.post("/v1/admin/models/intent/promote", json={"version": "v2"}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["versions"]["intent"] == "v2" and r.json()["replaced"] == first
    assert admin.get("/v1/admin/versions", headers=AUTH).json()["versions"]["intent"] == "v2"

    back = admin.post("/v1/admin/models/intent/rollback", headers=AUTH)
    assert back.status_code == 200 and back.json()["version"] == first
    assert admin.get("/v1/admin/versions", headers=AUTH).json()["versions"]["intent"] == first

    missing = admin.post("/v1/admin/models/intent/promote", json={"version": "v9"}, headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_version"
    assert admin.post("/v1/admin/models/intent/rollback", headers=AUTH).status_code == 404
    assert admin.post("/v1/admin/models/nope/rollback", headers=AUTH).status_code == 422
    assert admin.post("/v1/admin/models/intent/promote", json={"version": "v2"}).status_code == 401


def test_a_version_that_cannot_load_is_refused_and_the_old_one_keeps_serving(admin, models_dir):
    first = registry.in_service(models_dir / "intent")
    _copy_version(models_dir / "intent" / first, models_dir / "intent", "v3", embedding_version="another")
    r = admin.post("/v1/admin/models/intent/promote", json={"version": "v3"}, headers=AUTH)
    assert r.status_code == 409 and "embedding" in json.dumps(r.json()["error"]["details"])
    assert registry.in_service(models_dir / "intent") == first
    assert admin.get("/v1/admin/versions", headers=AUTH).json()["versions"]["intent"] == first
    assert admin.post("/v1/suggest", json={"message": "发票怎么开"}).status_code == 200


def test_the_gate_promotes_only_a_better_challenger_that_breaks_no_guard():
    from assist.ops.gate import Decision, Metric, decide

    def metrics(primary: float, guard: float, latency: float) -> list[Metric]:
        return [Metric("held-out accuracy", 0.60, primary, role="primary"),
                Metric("template macro-F1", 0.80, guard, tolerance=0.01),
                Metric("latency ms", 2.0, latency, higher_is_better=False, tolerance=1.0),
                Metric("per-class F1: other", 0.7, 0.1, role="info"),
                Metric("real dev macro-F1", None, 0.5, tolerance=0.01)]  # not measured: never decides

    ok = decide(metrics(0.70, 0.795, 2.9))
    assert ok.promote and "improved by +0.1000" in ok.reason
    assert "PROMOTE" in ok.table("a", "b") and "—" in ok.table("a", "b")
    same = decide(metrics(0.60, 0.80, 2.0))
    assert not same.promote and "did not improve" in same.reason
    worse = decide(metrics(0.70, 0.78, 2.0))
    assert not worse.promote and "template macro-F1 got worse by 0.0200" in worse.reason
    slower = decide(metrics(0.70, 0.80, 3.5))
    assert not slower.promote and "latency ms" in slower.reason
    unmeasured = decide([Metric("held-out accuracy", None, 0.9, role="primary")])
    assert not unmeasured.promote and "could not be measured" in unmeasured.reason
    kept = json.loads(json.dumps(worse.as_dict()))  # as gate.json keeps it, read back for the report
    assert Decision.from_dict(kept).table("a", "b") == worse.table("a", "b")
