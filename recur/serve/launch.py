"""Running the app under uvicorn: on a socket bound first (so port 0 means a free port and the URL
printed is the real one), in the foreground for ``recur serve`` or in a thread for tests and
benchmarks (``Background``: started, then stopped at the end of a ``with`` block)."""

from __future__ import annotations

import socket
import sys
import threading
import time

import uvicorn

STARTUP_SECONDS = 30.0
SWITCH_SECONDS = 0.0005


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # many clients may connect at once
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def server(app) -> uvicorn.Server:
    """A uvicorn server for ``app``; the GIL is handed over more often than Python's default
    (5 ms), which would otherwise stall the event loop behind the step-loop threads."""
    sys.setswitchinterval(SWITCH_SECONDS)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


class Background:
    """``with Background(app) as url:`` a real server on 127.0.0.1 in a thread."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.server = server(app)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self.url

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
