"""The studio's pages and actions (Flask, server-rendered, one small script for progress).

Safe by default: bound to loopback, a request must name this studio's own address (no DNS
rebinding); bound to any other address, every request needs the secret token printed at start.
Every state-changing request is a POST carrying the page's form secret from a page of this
origin, so another site cannot make a browser change the cast. Files are served from the work's
folder only, never its `.audiofic/` state.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from pathlib import Path

from flask import Flask, abort, jsonify, redirect, render_template, request, send_file, send_from_directory, url_for

from ..errors import AudioficError
from ..model import DIALOGUE
from ..publish.serve import hidden
from . import edits
from .job import Job
from .work import StudioWork

LOOPBACK = ("127.0.0.1", "localhost", "::1")
TOKEN_COOKIE = "audiofic_studio"


class Desk:
    """What the studio's requests share: the work, the page's form secret and the one re-render."""

    def __init__(self, work: StudioWork, token: str | None, allowed_hosts: set[str] | None):
        self.work, self.token, self.allowed_hosts = work, token, allowed_hosts
        self.secret = secrets.token_urlsafe(24)
        self.job: Job | None = None
        self.lock = threading.Lock()

    def guard(self):
        if self.allowed_hosts is not None and request.host.lower() not in self.allowed_hosts:
            abort(403, "this studio answers only at its own address")
        if self.token and not any(hmac.compare_digest(self.token, given or "")
                                  for given in (request.args.get("token"), request.cookies.get(TOKEN_COOKIE))):
            abort(403, "this studio needs the token it printed when it started")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
                abort(403, "a request from another site")
            if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
                abort(403, "a request from another site")
            if not hmac.compare_digest(request.form.get("secret", ""), self.secret):
                abort(403, "a form this studio did not give")

    def remember_token(self, response):
        if self.token and request.args.get("token") == self.token:
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"  # the token never leaves for another site
        return response

    def page(self, name: str, **values):
        return render_template(name, work=self.work, secret=self.secret, job=self.job, **values)

    def edit(self, change, back: str):
        doc = edits.load(self.work.voices_file)
        change(doc)
        edits.save(self.work.voices_file, doc)
        return redirect(back, code=303)

    def start(self, number: int) -> None:
        with self.lock:
            if self.job and self.job.running:
                abort(409, "a chapter is already being rendered")
            self.job = Job(self.work.options.output, self.work.out_dir, self.work.source, number)

    def stop(self) -> None:
        if self.job:
            self.job.stop()


def create_app(work: StudioWork, token: str | None = None, allowed_hosts: set[str] | None = None) -> Flask:
    """`token`: required of every request (a studio bound beyond loopback). `allowed_hosts`: the
    Host headers this studio answers (its own address); None answers any."""
    app = Flask("audiofic.studio", root_path=str(Path(__file__).parent))
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    desk = Desk(work, token, allowed_hosts)
    app.before_request(desk.guard)
    app.after_request(desk.remember_token)
    app.register_error_handler(AudioficError, lambda exc: (
        render_template("message.html", work=work, message=str(exc)), 400))
    _pages(app, desk)
    _actions(app, desk)
    app.studio_stop = desk.stop
    return app


def _pages(app: Flask, desk: Desk) -> None:
    work = desk.work

    @app.get("/")
    def index():
        voices = work.offered()
        return desk.page("index.html", chapters=work.chapters(), cast=work.cast(), voices=voices,
                         offered={(engine, vid) for engine, vid, _ in voices}, ready=work.ready())

    @app.get("/voices")
    def voices():
        return desk.page("voices.html", voices=work.offered())

    @app.get("/chapter/<int:number>")
    def chapter(number: int):
        state = next((c for c in work.chapters() if c.number == number), None)
        if state is None:
            abort(404)
        return desk.page("chapter.html", chapter=state, lines=work.script(number), speakers=work.speakers())

    @app.get("/audition")
    def audition():
        return send_file(work.audition(request.args.get("name", "")), mimetype="audio/wav", max_age=0)

    @app.get("/preview")
    def preview():
        path = work.preview(request.args.get("engine", ""), request.args.get("voice", ""))
        return send_file(path, mimetype="audio/wav", max_age=0)

    @app.get("/file/<path:name>")
    def file(name: str):
        if hidden(name):
            abort(404)
        return send_from_directory(work.out_dir, name, conditional=True, max_age=0)

    @app.get("/job")
    def job():
        return jsonify(desk.job.state if desk.job else {"running": False})


def _actions(app: Flask, desk: Desk) -> None:
    work, form = desk.work, lambda key: request.form.get(key, "")

    @app.post("/cast/voice")
    def set_voice():
        engine, _, voice = form("voice").partition("/")
        offered = {(e, v) for e, v, _ in work.offered()}
        return desk.edit(lambda doc: edits.set_voice(doc, form("name"), engine, voice, offered), url_for("index"))

    @app.post("/cast/gender")
    def set_gender():
        return desk.edit(lambda doc: edits.set_gender(doc, form("name"), form("gender")), url_for("index"))

    @app.post("/cast/rename")
    def rename():
        return desk.edit(lambda doc: edits.rename(doc, form("name"), form("new")), url_for("index"))

    @app.post("/cast/merge")
    def merge():
        return desk.edit(lambda doc: edits.merge(doc, form("name"), form("into")), url_for("index"))

    @app.post("/chapter/<int:number>/line")
    def pin(number: int):
        index = request.form.get("index", type=int)
        segments = work.chapter_plan(number).segments
        if index is None or not 0 <= index < len(segments) or segments[index].segment.kind != DIALOGUE:
            raise AudioficError(f"segment {index} of chapter {number} is not a dialogue line")
        back = url_for("chapter", number=number) + f"#line-{index}"
        return desk.edit(lambda doc: edits.pin(doc, number, index, form("speaker")), back)

    @app.post("/chapter/<int:number>/render")
    def rerender(number: int):
        work.chapter_plan(number)  # refuses a chapter the work has not
        desk.start(number)
        back = form("back")
        return redirect(back if back.startswith("/") and not back.startswith("//") else url_for("index"), code=303)
