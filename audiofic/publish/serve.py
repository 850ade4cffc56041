"""Serve the output folder over HTTP, with Range requests (podcast apps seek by byte range)."""

from __future__ import annotations

import functools
import os
import re
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .formats import mime_for_suffix
from .library import work_folders


IDLE_SECONDS = 30  # a client that sends nothing for this long is dropped
MAX_PATH = 1024


class RangeHandler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler plus single byte ranges (206 Partial Content); every malformed
    request gets a status code, and a client that hangs up is let go without a word."""

    timeout = IDLE_SECONDS

    def guess_type(self, path):
        return mime_for_suffix(os.path.splitext(str(path))[1]) or super().guess_type(path)

    def end_headers(self):
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def send_head(self):
        if len(self.path) > MAX_PATH or "\x00" in self.path or "%00" in self.path:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad path")
            return None
        try:
            return self._send_head()
        except (OSError, ValueError):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None

    def _send_head(self):
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file():
            return super().send_head()
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
        size = path.stat().st_size
        if not m or (not m.group(1) and not m.group(2)):
            return super().send_head()
        if len(m.group(1)) > 18 or len(m.group(2)) > 18:  # past any file's size
            return self._unsatisfiable(size)
        if m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        else:  # the last N bytes
            start, end = max(0, size - int(m.group(2))), size - 1
        if start >= size or start > end:
            return self._unsatisfiable(size)
        handle = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
        handle.seek(start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def _unsatisfiable(self, size: int):
        self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
        self.send_header("Content-Range", f"bytes */{size}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            chunk = source.read(min(65536, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)
        self._remaining = None

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the client hung up or went quiet: nothing to tell anyone

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a broken connection is the client's business; never a traceback on our stderr


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000,
                idle_seconds: float = IDLE_SECONDS) -> ThreadingHTTPServer:
    handler_class = type("Handler", (RangeHandler,), {"timeout": idle_seconds})
    return QuietServer((host, port), functools.partial(handler_class, directory=str(folder)))


def feeds(folder: Path) -> list[Path]:
    """Each work's feed, and a shelf's own feed or OPML list of feeds first."""
    shelf = [p for p in (folder / "feed.xml", folder / "shelf.opml") if p.is_file()]
    works = [w / "feed.xml" for w in work_folders(folder) if (w / "feed.xml").is_file()]
    return [p.relative_to(folder) for p in shelf] + sorted(p.relative_to(folder) for p in works)
