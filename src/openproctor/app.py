"""create_app(settings): wires the database, middleware, pages and the API."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from openproctor import __version__
from openproctor.api import router as api_router
from openproctor.api_errors import with_error_responses
from openproctor.background import Sweeps
from openproctor.bus.local import LocalBus
from openproctor.bus.redis import RedisBus
from openproctor.compat.dyte import router as seed_compat_router
from openproctor.context import AppContext
from openproctor.db import make_engine, make_session_factory
from openproctor.deps import LoginRequired, PasswordChangeRequired
from openproctor.detectors import install
from openproctor.detectors.base import ModelError
from openproctor.domains.invitations.mailer import Mailer
from openproctor.domains.leases.leader import Leadership
from openproctor.domains.lti.control_deliverer import ControlDeliverer
from openproctor.domains.lti.passback import GradePassback
from openproctor.domains.sessions.models import IllegalTransition
from openproctor.domains.users.routes import CREDENTIAL_CHANGE_API
from openproctor.domains.webhooks.deliverer import WebhookDeliverer
from openproctor.live.hub import LiveHub
from openproctor.logs import install_redaction
from openproctor.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from openproctor.metrics import Metrics
from openproctor.middleware import (
    BodyLimitMiddleware,
    CsrfCookieMiddleware,
    RequestMetricsMiddleware,
    SecurityHeadersMiddleware,
    page_policy,
)
from openproctor.pagination import BadCursor
from openproctor.pipeline.jobs import Analysis
from openproctor.pipeline.pool import AnalysisPool, JobTimedOut
from openproctor.pipeline.redis_queue import RedisAnalysis
from openproctor.security import tokens_match
from openproctor.settings import Environment, Settings
from openproctor.sockets import router as sockets_router
from openproctor.storage import ObjectStore, StorageError, StorageFull, store_from_settings
from openproctor.web.account_pages import ACCOUNT_PAGE
from openproctor.web.api_docs import add_api_docs
from openproctor.web.lti_pages import router as lti_tool_router
from openproctor.web.pages import router as pages_router
from openproctor.web.templating import WEB_DIR, render

OPENAPI_URL = "/api/v1/openapi.json"

log = logging.getLogger(__name__)
MIB = 1024 * 1024
# How long a client should wait before sending again what storage could not take.
STORAGE_RETRY_AFTER_S = 30
# A timed-out analysis job (the worker is replaced at once): a new try can work in seconds.
ANALYSIS_RETRY_AFTER_S = 5


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.resolved_database_url)
    session_factory = make_session_factory(engine)
    store = store_from_settings(settings)
    pool: Analysis | None = None
    # Only Redis analysis can say whether any worker is there to take jobs (see readyz).
    redis_analysis: RedisAnalysis | None = None
    bus: LocalBus | RedisBus = LocalBus()
    if settings.redis_url:
        # Scale-out: events through Redis pub/sub, frames to `openproctor worker` processes.
        pool = redis_analysis = RedisAnalysis(settings.redis_url)
        bus = RedisBus(settings.redis_url)
    elif settings.analysis_workers:
        models = install.models_dir(settings.data_dir)
        pool = AnalysisPool(
            models,
            settings.detectors,
            settings.analysis_workers,
            job_timeout_s=settings.analysis_job_timeout_s,
        )
    metrics = Metrics()
    metrics.watch_free_space(lambda: free_space(settings, store))
    # Sessions follow the platform's answers to Assessment Control (through the hub, made
    # below: the hub needs the deliverer that runs this outbox).
    lti_control = ControlDeliverer(
        session_factory,
        outbound_policy=settings.outbound_policy,
        session_changed=lambda session_id, state: hub.session_changed(session_id, state),
    )
    webhooks = WebhookDeliverer(
        session_factory,
        outbound_policy=settings.outbound_policy,
        mail=settings.smtp,
        public_url=settings.public_url,
        outboxes=[
            GradePassback(session_factory, outbound_policy=settings.outbound_policy),
            lti_control,
        ],
    )
    hub = LiveHub(
        session_factory=session_factory,
        store=store,
        bus=bus,
        pool=pool,
        min_speech=settings.detectors.min_speech,
        metrics=metrics,
        webhooks=webhooks,
        embedder=settings.detectors.identity.embedder,
        reconnect_grace_s=settings.reconnect_grace_s,
    )
    mailer = Mailer(session_factory, settings=settings.smtp, public_url=settings.public_url)
    sweeps = Sweeps(
        session_factory=session_factory,
        store=store,
        webhooks=webhooks,
        leadership=Leadership(
            session_factory, lease_s=settings.leader_lease_s, gauge=metrics.leader
        ),
        runs=metrics.sweeps,
    )
    context = AppContext(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        store=store,
        hub=hub,
        analysis=pool,
        mailer=mailer,
        sweeps=sweeps,
        lti_control=lti_control,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Whoever configured logging (openproctor serve, another server): no secret in it.
        install_redaction()
        if isinstance(pool, AnalysisPool):
            check_models(settings)
        await hub.start()
        webhooks.start()
        mailer.start()
        sweeps.start()
        try:
            yield
        finally:
            await sweeps.stop()
            await hub.stop()
            webhooks.stop()
            mailer.stop()
            engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="OpenProctor",
        version=__version__,
        description="Live proctoring for online exams. Staff sign in with a session cookie; "
        "state-changing requests need the X-CSRF-Token header (GET /api/v1/auth/csrf; it changes "
        "at sign-in, so fetch it again after POST /api/v1/auth/login).",
        # Our own /api/docs and /api/redoc (web/api_docs.py), served without a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL if settings.api_docs_served else None,
    )
    app.state.context = context
    app.add_middleware(
        CsrfCookieMiddleware, secure=settings.secure_cookies, secret_key=settings.secret_key
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Outside the others, so that every answer (a 413 from the body limit too) carries them.
    app.add_middleware(
        SecurityHeadersMiddleware,
        content_security_policy=page_policy(media_origin(store)),
        hsts=settings.secure_cookies,
    )
    # Outside everything else, so refused requests (413s) are timed and counted too.
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(api_router)
    app.include_router(seed_compat_router)
    # /lti/login, /lti/launch, /lti/jwks: posted from the learning platform's site, no CSRF.
    app.include_router(lti_tool_router)
    app.include_router(pages_router)
    app.include_router(sockets_router)
    _add_error_handlers(app)
    app.openapi = with_error_responses(app.openapi, app.routes)  # type: ignore[method-assign]

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            return JSONResponse(
                {"status": "unavailable", "database": str(error.__class__.__name__)},
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Ready to serve: database, storage, models (when analysing) all answer, and the
        disks written to have OPENPROCTOR_MIN_FREE_BYTES free."""
        checks = await asyncio.to_thread(readiness, context)
        if redis_analysis is not None:
            try:
                alive = await redis_analysis.workers_alive()
                checks["redis"] = "ok"
                checks["models"] = "ok" if alive else "no analysis worker is running"
            except (RedisError, OSError) as error:
                checks["redis"] = f"unavailable: {error}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    if settings.api_docs_served:
        add_api_docs(app, openapi_url=OPENAPI_URL)

    metrics_token = settings.metrics_token.get_secret_value()
    # In production the counters are private: off until a token is set.
    metrics_off = not metrics_token and settings.env is Environment.PRODUCTION

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        if metrics_off:
            raise StarletteHTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        if metrics_token and not tokens_match(
            f"Bearer {metrics_token}", request.headers.get("authorization")
        ):
            raise StarletteHTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "send Authorization: Bearer <OPENPROCTOR_METRICS_TOKEN>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    return app


def media_origin(store: ObjectStore) -> str:
    """Where the store's presigned links point (recordings are played from there), or ""."""
    try:
        url = store.presigned_url("csp/probe", 60, content_type="video/webm", disposition="inline")
    except StorageError:
        return ""
    if url is None:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def readiness(context: AppContext) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        checks["database"] = f"unavailable: {error.__class__.__name__}"
    probe = "readyz/probe"
    try:
        context.store.put(probe, b"ok", "text/plain")
        checks["storage"] = "ok" if context.store.get(probe) == b"ok" else "reads back wrong"
        context.store.delete(probe)
    except (StorageError, OSError) as error:
        checks["storage"] = f"unavailable: {error}"
    threshold = context.settings.min_free_bytes
    try:
        for volume, free in free_space(context.settings, context.store).items():
            checks[f"{volume}_space"] = (
                "ok"
                if free >= threshold
                else f"{free / MIB:.0f} MiB free, below OPENPROCTOR_MIN_FREE_BYTES "
                f"({threshold / MIB:.0f} MiB)"
            )
    except OSError as error:
        checks["space"] = f"cannot tell free space: {error}"
    if context.settings.analysis_workers and not context.settings.redis_url:
        checks["models"] = "ok" if context.hub.analysis_ready else "loading"
    return checks


def free_space(settings: Settings, store: ObjectStore) -> dict[str, int]:
    """Bytes free on each disk this node writes to: the data directory's and the local
    storage's. S3 storage has no free space to speak of, so it is not among them."""
    free = {"data": shutil.disk_usage(settings.data_dir).free}
    storage = store.free_bytes()
    if storage is not None:
        free["storage"] = storage
    return free


def check_models(settings: Settings) -> None:
    """Refuses to start analysis with a missing or damaged model file, naming the fix."""
    broken = [row for row in install.status(settings.data_dir, load=False) if not row.ok]
    if broken:
        problems = "; ".join(f"{row.name}: {row.problem}" for row in broken)
        raise ModelError(f"cannot start the analysis workers: {problems}")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def _error(request: Request, status_code: int, detail: Any) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=status_code)
    message = (
        detail
        if isinstance(detail, str)
        else "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg')}"
            for item in detail
        )
    )
    return render(request, "error.html", status_code=status_code, message=message)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "sign in first"}, status_code=status.HTTP_401_UNAUTHORIZED
            )
        return RedirectResponse(f"/login?next={request.url.path}", status.HTTP_303_SEE_OTHER)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(request: Request, _: PasswordChangeRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": f"choose your own password first: POST {CREDENTIAL_CHANGE_API}"},
                status_code=status.HTTP_403_FORBIDDEN,
            )
        return RedirectResponse(ACCOUNT_PAGE, status.HTTP_303_SEE_OTHER)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        response = _error(request, error.status_code, error.detail)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"loc": item.get("loc", []), "msg": item.get("msg", ""), "type": item.get("type")}
            for item in error.errors()
        ]
        return _error(request, status.HTTP_422_UNPROCESSABLE_CONTENT, problems)

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, error: StorageError) -> Response:
        # Nothing was stored, and sending it again later can work: say so, never a bare 500.
        retry = {"Retry-After": str(STORAGE_RETRY_AFTER_S)}
        if isinstance(error, StorageFull):
            log.warning("storage is full: %s", error)
            response = _error(
                request,
                status.HTTP_507_INSUFFICIENT_STORAGE,
                "the server is out of space: nothing was stored; send it again later",
            )
        else:
            log.error("storage failed: %s", error)
            response = _error(
                request,
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the server cannot store this right now: nothing was stored; send it again later",
            )
        response.headers.update(retry)
        return response

    @app.exception_handler(JobTimedOut)
    async def analysis_timed_out(request: Request, error: JobTimedOut) -> Response:
        # A photo or ID check that overran its time limit on a busy machine: the candidate's
        # page says "busy, try again", never a bare 500.
        log.warning("an analysis job timed out: %s", error)
        response = _error(
            request,
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the image check is busy right now: try again in a moment",
        )
        response.headers["Retry-After"] = str(ANALYSIS_RETRY_AFTER_S)
        return response

    @app.exception_handler(BadCursor)
    async def bad_cursor(request: Request, error: BadCursor) -> Response:
        problem = {"loc": ["query", "cursor"], "msg": str(error), "type": "bad_cursor"}
        return _error(request, status.HTTP_422_UNPROCESSABLE_CONTENT, [problem])

    @app.exception_handler(IllegalTransition)
    async def illegal_transition(request: Request, error: IllegalTransition) -> Response:
        return _error(request, status.HTTP_409_CONFLICT, str(error))

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, _: IntegrityError) -> Response:
        return _error(
            request, status.HTTP_409_CONFLICT, "this conflicts with data that already exists"
        )
