"""Serve the output folder over HTTP (Flask): the feeds, their audio with byte ranges (podcast
apps seek by range; werkzeug's file responses answer them), and nothing of audiofic's own state.

A feed rendered without --base-url points at this machine's loopback address; served here, its
links are rebuilt from the address the client asked for, so a phone on the same network that
fetched the feed from this machine plays its episodes without a re-render.
"""

from __future__ import annotations

import errno
import html
import socket
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, abort, request, send_from_directory
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server as werkzeug_server

from ..errors import AudioficError
from .feed import DEFAULT_PORT
from .formats import mime_for_suffix
from .library import work_folders

IDLE_SECONDS = 30  # a client that sends nothing for this long is dropped
MAX_PATH = 1024
LOCAL_BASE = f"http://127.0.0.1:{DEFAULT_PORT}/"  # where a feed rendered without --base-url points
LINKED = (".xml", ".opml", ".json")  # the files whose links are rebuilt from the request's host


class QuietHandler(WSGIRequestHandler):
    """No request log, no traceback for a client that hung up, and an idle client let go."""

    timeout = IDLE_SECONDS

    def log(self, type, message, *args):  # noqa: A002 - werkzeug's names
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the client hung up or went quiet: nothing to tell anyone


def quiet_server(app, host: str, port: int, idle_seconds: float = IDLE_SECONDS) -> BaseWSGIServer:
    """A threaded werkzeug server for `app` that prints nothing of its own. The socket is bound
    here, so a port in use is our one-line error (werkzeug would print its own and exit)."""
    handler = type("Handler", (QuietHandler,), {"timeout": idle_seconds})
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(128)
        server = werkzeug_server(host, port, app, threaded=True, request_handler=handler, fd=listening.fileno())
    except OSError as exc:
        busy = " (another program has it: choose another with --port)" if exc.errno == errno.EADDRINUSE else ""
        raise AudioficError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{busy}") from None
    finally:
        listening.close()  # the server holds its own copy
    server.handle_error = lambda request, client_address: None  # a broken connection is the client's business
    return server


def hidden(name: str) -> bool:
    """audiofic's state (`.audiofic/`), half-written files and any other dot-name are not served."""
    return any(part.startswith(".") for part in name.replace("\\", "/").split("/"))


def feed_app(folder: Path) -> Flask:
    app = Flask("audiofic.serve")
    folder = Path(folder).resolve()

    @app.get("/")
    def index():
        links = "".join(f'<li><a href="{quote(p.as_posix())}">{html.escape(p.as_posix())}</a></li>'
                        for p in feeds(folder))
        return f"<!doctype html><title>audiofic</title><h1>Feeds</h1><ul>{links or '<li>none yet</li>'}</ul>"

    @app.get("/<path:name>")
    def file(name: str):
        if len(name) > MAX_PATH or "\x00" in name or hidden(name):
            abort(404)
        suffix = Path(name).suffix.lower()
        if suffix in LINKED:
            path = (folder / name).resolve()
            if not path.is_relative_to(folder) or not path.is_file():
                abort(404)
            text = path.read_text("utf-8").replace(LOCAL_BASE, request.host_url)
            return Response(text, mimetype=mime_for_suffix(suffix))
        return send_from_directory(folder, name, mimetype=mime_for_suffix(suffix), conditional=True,
                                   max_age=0)

    return app


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8000,
                idle_seconds: float = IDLE_SECONDS) -> BaseWSGIServer:
    return quiet_server(feed_app(folder), host, port, idle_seconds)


def feeds(folder: Path) -> list[Path]:
    """Each work's feed, and a shelf's own feed or OPML list of feeds first."""
    shelf = [p for p in (folder / "feed.xml", folder / "shelf.opml") if p.is_file()]
    works = [w / "feed.xml" for w in work_folders(folder) if (w / "feed.xml").is_file()]
    return [p.relative_to(folder) for p in shelf] + sorted(p.relative_to(folder) for p in works)
