from __future__ import annotations

from fastapi import APIRouter

from assist import __version__
from assist.api.deps import PipelineDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (models may still be loading)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(pipeline: PipelineDep) -> dict[str, object]:
    """Ready to answer: knowledge and model versions in service (503 while loading)."""
    kb = pipeline.kb
    return {
        "status": "ready",
        "version": __version__,
        "versions": pipeline.versions,
        "knowledge": {"shop": kb.shop.id, "faqs": len(kb.faqs), "products": len(kb.products),
                      "rules": len(kb.rules), "scripts": len(kb.scripts), "index_rows": len(pipeline.index.rows_)},
    }
