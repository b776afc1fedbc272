"""A real HTTP server on 127.0.0.1 for download tests: serves a folder, honours Range, misbehaves on cue."""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Behaviour:
    """How the server answers: ``cut`` maps a path to a byte count after which its next answer stops."""

    cut: dict[str, int] = field(default_factory=dict)
    ignore_range: bool = False
    stall_s: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    queries: list[str] = field(default_factory=list)


class FileServer:
    """Serves ``root`` at ``self.url`` until closed (use as a context manager)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.behaviour = Behaviour()
        handler = type("Handler", (_Handler,), {"server_root": self.root, "behaviour": self.behaviour})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server_root: Path
    behaviour: Behaviour

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path).lstrip("/")
        self.behaviour.requests.append((path, self.headers.get("Range")))
        self.behaviour.queries.append(url.query)
        if self.behaviour.stall_s:
            time.sleep(self.behaviour.stall_s)
        file = self.server_root / path
        if not path or not file.is_file():
            self.send_error(404, "NoSuchKey")
            return
        data = file.read_bytes()
        first = self._range_start()
        if first is not None and first >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if first is None:
            self.send_response(200)
            body = data
        else:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{len(data) - 1}/{len(data)}")
            body = data[first:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.behaviour.cut.pop(path, None)
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _range_start(self) -> int | None:
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        return None if match is None or self.behaviour.ignore_range else int(match.group(1))

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``behaviour.requests`` instead."""


def refused_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
