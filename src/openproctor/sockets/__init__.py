"""The two live WebSockets: candidates stream in (candidate.py), proctors watch (proctor.py)."""

from fastapi import APIRouter

from openproctor.sockets import candidate, proctor
from openproctor.sockets.proctor import for_proctor

router = APIRouter()
router.include_router(candidate.router)
router.include_router(proctor.router)

__all__ = ["for_proctor", "router"]
