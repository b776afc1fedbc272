"""A real HTTP server on 127.0.0.1 for download and streaming tests: serves a folder, honours Range (open and
closed ranges), counts the bytes it sends, misbehaves on cue."""

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
    """How the server answers: ``cut`` maps a path to a byte count after which its next answer stops;
    ``cut_above``: every answer longer than this many bytes stops there (until set back to None)."""

    cut: dict[str, int] = field(default_factory=dict)
    cut_above: int | None = None
    ignore_range: bool = False
    stall_s: float = 0.0
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    queries: list[str] = field(default_factory=list)
    sent: int = 0  # bytes of file content written to clients (bodies only)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, n: int) -> None:
        with self.lock:
            self.sent += n


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
        size = file.stat().st_size
        first, last = self._range(size)
        if first is not None and first >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if first is None:
            self.send_response(200)
            first, last = 0, size - 1
        else:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        length = last - first + 1
        self.send_header("Content-Length", str(length))
        self.end_headers()
        cut = self.behaviour.cut.pop(path, None)
        above = self.behaviour.cut_above
        if cut is None and above is not None and length > above:
            cut = above
        self._send(file, first, length if cut is None else min(cut, length))
        if cut is not None:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, file: Path, first: int, length: int) -> None:
        """``length`` bytes of ``file`` from ``first``, in pieces (files may be hundreds of MB)."""
        with open(file, "rb") as f:
            f.seek(first)
            while length > 0:
                piece = f.read(min(length, 1 << 20))
                try:
                    self.wfile.write(piece)
                except OSError:  # the client went away
                    return
                self.behaviour.count(len(piece))
                length -= len(piece)

    def _range(self, size: int) -> tuple[int | None, int | None]:
        """(first, last) byte of a ``bytes=a-`` or ``bytes=a-b`` request, (None, None) for the whole file."""
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if match is None or self.behaviour.ignore_range:
            return None, None
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else size - 1
        return first, min(last, size - 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``behaviour.requests`` instead."""


def refused_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
