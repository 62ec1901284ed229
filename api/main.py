"""The FastAPI application. `sohoa serve` runs it with an embedded worker in the same process."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import minio.error
import sqlalchemy.exc
import urllib3.exceptions

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sohoa import __version__
from sohoa.config import Settings, get_settings
from sohoa.health import Readiness, readiness
from sohoa.metrics import render as render_metrics
from sohoa.services import Services, build_services
from workers.embedded import EmbeddedWorker

from .deps import api_key_for
from .limits import RequestLimits
from .limits import describe as describe_limits
from .problems import problem
from .ratelimit import TokenBuckets
from . import dossiers, results
from .routes import router
from .webhooks import router as webhooks_router

log = logging.getLogger("sohoa.api")


def create_app(settings: Settings | None = None, services: Services | None = None,
               embedded_worker: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc = services or build_services(settings)
        app.state.services = svc
        app.state.api_key = api_key_for(settings)
        worker = None
        if embedded_worker and not settings.broker_url:
            worker = EmbeddedWorker(svc)
            svc.worker = worker
            worker.start()
        yield
        if worker:
            worker.stop()
        svc.close()

    app = FastAPI(title="sohoa", version=__version__, lifespan=lifespan,
                  description="Digitisation of dossiers received at public-administration service desks.\n\n"
                              + describe_limits(settings.limits))
    # Sizes, counts, malformed multipart and time, refused before a route reads the body (api/limits.py).
    app.add_middleware(RequestLimits, limits=settings.limits)
    app.state.public_lookups = TokenBuckets(settings.limits.public_lookups_per_minute)
    app.include_router(router)
    app.include_router(results.router)
    app.include_router(dossiers.router)
    app.include_router(webhooks_router)

    # Errors are RFC 9457 problem details, so clients branch on `status`/`title`, not on prose.
    @app.exception_handler(StarletteHTTPException)
    async def http_problem(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, str(exc.detail), getattr(exc, "code", None))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_problem(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(422, "the request is not valid", errors=[
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()])

    # An outage of what we depend on is the server's temporary state, not the request's fault:
    # 503 with Retry-After, so scanners retry (with the same Idempotency-Key) instead of giving up.
    for exc_type, component in UNAVAILABLE:
        app.add_exception_handler(exc_type, _unavailable(component))

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=Readiness,
             responses={503: {"description": "a component is unavailable", "model": Readiness}})
    def readyz(request: Request) -> JSONResponse:
        """Readiness: database, object storage and (with a broker) the broker answer. 503 otherwise,
        with the failing component named. No API key: it says nothing about documents."""
        report = readiness(request.app.state.services)
        return JSONResponse(report.model_dump(), status_code=200 if report.ready else 503)

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics(request: Request) -> Response:
        """Prometheus metrics (docs/operations.md). No API key: counts by state, branch, queue and
        step only, nothing about a person."""
        svc = request.app.state.services
        body, content_type = render_metrics(svc.sessions, svc.settings.broker_url, request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return app


UNAVAILABLE: list[tuple[type[Exception], str]] = [
    (sqlalchemy.exc.OperationalError, "database"), (sqlalchemy.exc.InterfaceError, "database"),
    (sqlalchemy.exc.TimeoutError, "database"),
    (urllib3.exceptions.HTTPError, "object storage"), (minio.error.ServerError, "object storage"),
]
RETRY_AFTER_SECONDS = 5


def _unavailable(component: str):  # noqa: ANN202 - an exception handler
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("503: %s unavailable (%s)", component, type(exc).__name__)
        response = problem(503, f"the {component} is unavailable; nothing was recorded, retry later "
                                "(with the same Idempotency-Key)",
                           code=f"{component.replace(' ', '_')}_unavailable")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    return handler
