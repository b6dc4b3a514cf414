"""The options of ``recur serve``: where it listens and the limits that hold under abuse
(ServeConfig). Every default lives here and shows in ``recur serve --help``."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option


@dataclass
class ServeConfig:
    """Settings for ``recur serve``."""

    host: str = option(
        "127.0.0.1", "address to listen on (0.0.0.0 exposes the server: set --api-key)"
    )
    port: int = option(8000, "port to listen on (0: any free port)")
    api_key: str | None = option(
        None, "require 'Authorization: Bearer KEY' on every /v1 request (the page asks for it)"
    )
    max_body_bytes: int = option(65_536, "largest request body; larger ones get 413")
    max_tokens: int = option(2_000, "most tokens one request may ask for (length x samples)")
    max_samples: int = option(8, "most samples one request may ask for")
    max_streams: int = option(
        256, "concurrent streams per model; a request past it gets 429 with Retry-After"
    )
    request_seconds: float = option(
        120.0, "a request still generating after this many seconds ends (finish reason 'time')"
    )
    precision: str = option(
        "auto",
        "one-token step weights: auto (the fastest of fp32, bf16, int8 whose loss on the run's "
        "validation text is within 0.5%% of fp32, measured at load) or fp32, bf16, int8",
        choices=("auto", "fp32", "bf16", "int8"),
    )
    precision_tokens: int = option(
        2_048, "validation tokens that auto precision measures per precision at load"
    )
    device: str = option("cpu", "cpu or cuda")
    threads: int | None = option(None, "CPU threads for the models (default: all cores)")
