"""Shelf: many works in one run, each into its own folder, sharing one segment cache.

Every work is planned first; then the segments all of them lack go to one pool (this
machine's workers, or Ray actors across a cluster), so one huge work spreads as well as many
small ones, and a segment two works share is synthesized once. A work that fails is reported
with its one-line error and never stops the others.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..sound import assemble
from ..errors import AudioficError, one_line
from ..files import write_if_changed
from .plan import Options
from ..publish.feed import DEFAULT_PORT, folder_url, shelf_feed
from .job import ProgressFn, Report, Run, format_duration
from .render import finish, normalised, start
from .schedule import Backend, Local, process
from .state import shelf_cache_dir

WORK_SUFFIXES = (".txt", ".md", ".html", ".htm", ".xhtml", ".epub")
SHELF_FEED = "feed.xml"
SHELF_OPML = "shelf.opml"


def collect(sources: list[Path]) -> list[Path]:
    """The works named by files, folders (their .txt/.html/.epub files, searched down) and list
    files (`@list.txt`: one path per line, relative to the list; `#` starts a comment)."""
    found: list[Path] = []
    for source in sources:
        text = str(source)
        if text.startswith("@"):
            listing = Path(text[1:])
            try:
                lines = listing.read_text("utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise AudioficError(f"{listing}: cannot read the list ({one_line(exc)})") from None
            entries = [line.split("#", 1)[0].strip() for line in lines]
            found += collect([listing.parent / entry for entry in entries if entry])
        elif source.is_dir():
            found += sorted(p for p in source.rglob("*") if p.suffix.lower() in WORK_SUFFIXES and p.is_file()
                            and not any(part.startswith(".") for part in p.relative_to(source).parts))
        elif source.is_file():
            found.append(source)
        else:
            raise AudioficError(f"{source}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


@dataclass
class ShelfReport:
    works: list[tuple[Path, Run]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    wall_seconds: float = 0.0
    feed: Path | None = None

    def lines(self) -> list[str]:
        rendered = [run for _, run in self.works if run.report.rendered or run.report.m4b == "written"]
        current = [run for _, run in self.works if run not in rendered]
        total = Report(rendered=sum(r.report.rendered for _, r in self.works),
                       synthesized=sum(r.report.synthesized for _, r in self.works),
                       cached=sum(r.report.cached for _, r in self.works),
                       audio_seconds=sum(r.report.audio_seconds for _, r in self.works))
        out = [f"{run.out_dir}: {run.report.line(timed=False)}" for _, run in self.works]
        out += [f"{path}: failed: {error.removeprefix(f'{path}: ')}" for path, error in self.failed]
        out.append(f"works: {len(rendered)} rendered, {len(current)} current, {len(self.failed)} failed; "
                   f"{total.rendered} chapters rendered; segments: {total.synthesized} synthesized, "
                   f"{total.cached} cached; audio {format_duration(total.audio_seconds)} in "
                   f"{self.wall_seconds:.1f} s" + (f"; feed {self.feed}" if self.feed else ""))
        return out


def shelf(sources: list[Path], options: Options = Options(), backend: Backend | None = None,
          progress: ProgressFn | None = None, one_feed: bool = False) -> ShelfReport:
    started = time.monotonic()
    assemble.require_ffmpeg()
    paths = collect(sources)
    if not paths:
        raise AudioficError("no works found (files ending " + ", ".join(WORK_SUFFIXES) + ")")
    options = normalised(dataclasses.replace(options, cache=options.cache or shelf_cache_dir(options.output)))
    backend = backend or Local(options.jobs)
    report = ShelfReport()
    with contextlib.ExitStack() as held:
        runs: list[tuple[Path, Run]] = []
        for path in paths:
            try:
                run = start(path, options, held)
                if options.base_url:  # each work's own feed points into its own folder
                    own = _base(options) + folder_url(options.output, run.out_dir)
                    run.options = dataclasses.replace(options, base_url=own)
                runs.append((path, run))
            except AudioficError as exc:
                report.failed.append((path, str(exc)))
            except Exception as exc:  # noqa: BLE001 - one work's failure never stops the others
                report.failed.append((path, one_line(exc)))
        process([run for _, run in runs], backend, progress, isolate=True)
        for path, run in runs:
            if run.error is None:
                try:
                    finish(run)
                except Exception as exc:  # noqa: BLE001 - as above
                    run.error = one_line(exc)
            if run.error is None:
                report.works.append((path, run))
            else:
                report.failed.append((path, run.error))
    report.failed.sort(key=lambda item: paths.index(item[0]))
    publish_shelf(report, options, one_feed)
    report.wall_seconds = time.monotonic() - started
    return report


def _base(options: Options) -> str:
    return (options.base_url or f"http://127.0.0.1:{DEFAULT_PORT}/").rstrip("/") + "/"


def publish_shelf(report: ShelfReport, options: Options, one_feed: bool) -> None:
    """An OPML list of the works' own feeds (one podcast per work), or with `one_feed` a
    single feed holding every chapter of every work."""
    base = _base(options)
    runs = [run for _, run in report.works]
    if one_feed:
        report.feed = options.output / SHELF_FEED
        write_if_changed(report.feed, shelf_feed(runs, base).encode("utf-8"))
        return
    outlines = "".join(
        f"    <outline type=\"rss\" text={quoteattr(run.ready.work.title)} "
        f"xmlUrl={quoteattr(base + folder_url(run.options.output, run.out_dir) + 'feed.xml')}/>\n" for run in runs)
    report.feed = options.output / SHELF_OPML
    write_if_changed(report.feed, ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n"
                                   f"  <head><title>{escape('audiofic shelf')}</title></head>\n  <body>\n"
                                   f"{outlines}  </body>\n</opml>\n").encode("utf-8"))
