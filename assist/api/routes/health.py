from __future__ import annotations

from fastapi import APIRouter, Request

from assist import __version__
from assist.api.deps import PipelineDep, StoreDep, is_admin

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (models may still be loading)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request, pipeline: PipelineDep, store: StoreDep) -> dict[str, object]:
    """Ready to answer (503 while loading); `log` is "degraded" once an interaction could not
    be stored (answers go on). With the admin token (Authorization: Bearer …) also the
    knowledge and model versions in service, the knowledge base's size and the log's counts."""
    log = store.log.status()
    out: dict[str, object] = {"status": "ready", "version": __version__, "log": "ok" if log["ok"] else "degraded"}
    if is_admin(request):
        out["log_counts"] = log
        kb = pipeline.kb
        out["versions"] = pipeline.versions
        out["knowledge"] = {"shop": kb.shop.id, "faqs": len(kb.faqs), "products": len(kb.products),
                            "rules": len(kb.rules), "scripts": len(kb.scripts), "index_rows": len(pipeline.index.rows_)}
    return out
