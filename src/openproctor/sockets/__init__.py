"""The live WebSockets: candidates stream in (candidate.py), proctors watch (proctor.py),
waiting candidates hear their admission (lobby.py)."""

from fastapi import APIRouter

from openproctor.sockets import candidate, lobby, proctor
from openproctor.sockets.proctor import for_proctor

router = APIRouter()
router.include_router(candidate.router)
router.include_router(proctor.router)
router.include_router(lobby.router)

__all__ = ["for_proctor", "router"]
