"""``recur serve RUN [RUN ...]``: the web playground and the HTTP API over trained runs (FastAPI +
uvicorn from the serve extra, imported only when the command runs). The flags are ServeConfig's."""

from __future__ import annotations

import dataclasses

from recur.cli_options import add_config_flags
from recur.config.fields import from_dict
from recur.config.serve_options import ServeConfig


def add_command(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="web playground + HTTP API (OpenAI-compatible completions) over trained runs",
        description="Serve runs at http://HOST:PORT/: a playground page, /v1/models, "
        "/v1/generate, /v1/completions (OpenAI-compatible), /v1/classify, /v1/music.",
    )
    serve.add_argument("runs", nargs="+", metavar="RUN", help="run directories to serve")
    add_config_flags(serve, ServeConfig, "server")


def run(args) -> None:
    from recur.extras import require

    require("fastapi", "serve", "recur serve")
    require("uvicorn", "serve", "recur serve")
    import torch

    from recur.serve.app import create_app
    from recur.serve.launch import bind, server, url_of
    from recur.serve.served import load_models

    names = {f.name for f in dataclasses.fields(ServeConfig)}
    config = from_dict(ServeConfig, {k: v for k, v in vars(args).items() if k in names})
    if config.threads:
        torch.set_num_threads(config.threads)
    models = load_models(args.runs, config)
    for name, item in models.items():
        chosen = f", sampling in {item.precision.precision}" if item.precision else ""
        print(f"model {name}: {item.kind} from {item.bundle.path}{chosen}", flush=True)
    app = create_app(models, config)
    sock = bind(config.host, config.port)
    print(f"serving at {url_of(sock)}/  (Ctrl-C stops)", flush=True)
    server(app).run(sockets=[sock])
