"""The ASGI app (Starlette) and its server (hypercorn's trio worker).

`create_app(store, engine=None)` builds the app; `serve(app, ...)` runs it in
the caller's nursery, bound to 127.0.0.1 unless told otherwise:

    async with trio.open_nursery() as nursery:
        urls = await nursery.start(serve, create_app(store), "127.0.0.1", 8080)
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dialer.clock import Clock

from . import pages, routes_auth, routes_dnc, routes_files, routes_operator, routes_supervisor, routes_validator
from .desk import LocalDesk, OperatorDesk
from .openapi import describe
from .routing import PUBLIC, Ctx, Endpoint, Registry, wrap

log = logging.getLogger("dialer.api")

REGISTRIES = [routes_auth.routes, routes_supervisor.routes, routes_dnc.routes, routes_files.routes,
              routes_validator.routes,
              routes_operator.routes,
              pages.routes]


@dataclass
class Settings:
    max_json_bytes: int = 64 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    session_seconds: int = 12 * 3600
    sse_keepalive_seconds: float = 15.0


@dataclass
class Api:
    """What handlers reach through `ctx.api`."""
    store: Any
    desk: OperatorDesk
    engine: Any = None
    settings: Settings = field(default_factory=Settings)
    endpoints: list[Endpoint] = field(default_factory=list)
    clock: Clock | None = None

    def now(self) -> dt.datetime:
        """Wall time for the rules (retry times, notes): from the engine's clock when there is one."""
        if self.clock is None:
            self.clock = getattr(self.engine, "clock", None) or Clock()
        return self.clock.now()


meta = Registry("meta")


@meta.route("GET", "/openapi.json", roles=PUBLIC, summary="This API's OpenAPI description")
async def openapi(ctx: Ctx):
    return describe(ctx.api.endpoints)


@meta.route("GET", "/healthz", roles=PUBLIC, summary="Liveness: answers ok while the daemon runs")
async def healthz(ctx: Ctx):
    return {"ok": True}


@meta.route("GET", "/metrics", roles=PUBLIC, summary="Prometheus metrics of the engine", produces="text/plain")
async def metrics(ctx: Ctx):
    # Public like every Prometheus target; the daemon binds 127.0.0.1 unless told otherwise.
    from prometheus_client import REGISTRY, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    source = getattr(ctx.api.engine, "metrics", None)
    body = source.exposition() if hasattr(source, "exposition") else generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def all_endpoints() -> list[Endpoint]:
    return [ep for registry in [*REGISTRIES, meta] for ep in registry.endpoints]


def create_app(store, engine=None, *, desk: OperatorDesk | None = None,
               settings: Settings | None = None) -> Starlette:
    """The app over this store. With an engine, its operator desk (`engine.desk`) is the one used."""
    if desk is None:
        engine_desk = getattr(engine, "desk", None)
        if engine_desk is not None and hasattr(engine_desk, "listeners"):
            from .engine_desk import EngineDesk

            desk = EngineDesk(engine_desk, store, lambda: list(getattr(engine, "runners", ())))
        else:
            desk = LocalDesk(store)
    endpoints = all_endpoints()
    routes = [Route(ep.path, wrap(ep), methods=[ep.method]) for ep in endpoints]
    static_dir = resources.files("dialer.api").joinpath("static")
    routes.append(Mount("/static", app=StaticFiles(directory=str(static_dir)), name="static"))
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _crash})
    app.state.api = Api(store=store, desk=desk, engine=engine, settings=settings or Settings(),
                        endpoints=endpoints)
    return app


async def _http_error(request, exc: HTTPException) -> Response:
    return JSONResponse({"error": exc.detail or "error"}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _crash(request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)


async def serve(app, host: str = "127.0.0.1", port: int = 8080, *,
                task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve `app` until cancelled; `nursery.start` returns the bound URLs (port 0 picks one)."""
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 2.0
    await hypercorn_serve(app, config, task_status=task_status)


async def serve_engine(engine, host: str = "127.0.0.1", port: int = 8080, *,
                       task_status=trio.TASK_STATUS_IGNORED) -> None:
    """`dialer run`'s HTTP side: the API, the pages and the engine's /metrics on one port.

    Reports the bound (host, port), as the engine's plain /metrics server did.
    """
    async with trio.open_nursery() as nursery:
        (url,) = await nursery.start(serve, create_app(engine.store, engine), host, port)
        bound_host, _, bound_port = url.removeprefix("http://").rpartition(":")
        task_status.started((bound_host.strip("[]"), int(bound_port)))
