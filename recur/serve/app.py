"""The FastAPI application: the page, ``/v1/models``, the routes of ``routes_text.py`` and
``routes_other.py``, and the guards every request passes (body size, bearer token). Every error
is JSON in OpenAI's shape, ``{"error": {"message": ...}}``, with a message that says what to
change; bad JSON, wrong types and unknown fields are 400s, never 500s."""

from __future__ import annotations

import json
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from recur.config.serve_options import ServeConfig
from recur.errors import RecurError
from recur.serve import routes_other, routes_series, routes_text
from recur.serve.engine import Full
from recur.serve.served import Served


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": status}}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(models: dict[str, Served], config: ServeConfig | None = None) -> FastAPI:
    config = config or ServeConfig()

    app = FastAPI(title="recur", docs_url="/docs", redoc_url=None)
    app.state.models, app.state.config = models, config
    app.add_middleware(BodyLimit, limit=config.max_body_bytes, api_key=config.api_key)
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(RecurError, _recur_error)  # type: ignore[arg-type]
    app.add_exception_handler(Full, _full)  # type: ignore[arg-type]
    app.include_router(routes_text.router)
    app.include_router(routes_other.router)
    app.include_router(routes_series.router)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return resources.files("recur.serve").joinpath("page.html").read_text(encoding="utf-8")

    @app.get("/v1/models")
    def list_models() -> dict:
        data = [
            {"id": name, "object": "model", "owned_by": "recur", "kind": item.kind}
            for name, item in models.items()
        ]
        return {"object": "list", "data": data}

    @app.get("/v1/models/{name}")
    def model_facts(name: str) -> dict:
        item = routes_text.find(models, name)
        return {"id": name, "object": "model", "owned_by": "recur", **item.facts}

    return app


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error(400, "; ".join(describe(e) for e in exc.errors()[:5]))


def describe(problem: dict) -> str:
    """One validation problem as a sentence that says what to change."""
    where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
    kind = problem.get("type", "")
    if kind == "json_invalid":
        return f"the body is not valid JSON ({problem.get('msg', '')}): send one JSON object"
    if kind == "extra_forbidden":
        return f"unknown field {where!r}: remove it (see the fields at /docs)"
    if kind == "missing":
        return f"{where or 'the body'} is missing: add it"
    if kind == "model_attributes_type" or not where:
        return 'the body must be a JSON object, like {"model": "NAME", ...}'
    return f"{where}: {problem.get('msg', 'invalid')}"


async def _recur_error(request: Request, exc: RecurError) -> JSONResponse:
    return error(getattr(exc, "status", 400), str(exc))


async def _full(request: Request, exc: Full) -> JSONResponse:
    return error(
        429,
        f"the model is serving as many streams as it may; retry after {exc.retry_after} s",
        {"Retry-After": str(exc.retry_after)},
    )


class BodyLimit:
    """A pure ASGI guard: bodies over ``limit`` bytes get 413 before any route reads them
    (announced or not), and with an ``api_key`` every /v1 request needs the bearer token."""

    def __init__(self, app, limit: int, api_key: str | None):
        self.app, self.limit, self.api_key = app, limit, api_key

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self.api_key and scope["path"].startswith("/v1"):
            if headers.get(b"authorization", b"").decode() != f"Bearer {self.api_key}":
                message = (
                    "this server needs 'Authorization: Bearer KEY' (the --api-key it runs with)"
                )
                return await _send(send, error(401, message))
        announced = headers.get(b"content-length", b"0")
        if announced.isdigit() and int(announced) > self.limit:
            return await _send(send, self._too_large())
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await _send(send, self._too_large())
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # the route waits for a disconnect: pass it on
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _too_large(self) -> JSONResponse:
        return error(413, f"the body is over {self.limit:,} bytes: send less (--max-body-bytes)")


async def _send(send, response: JSONResponse) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})


def dumps(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)
