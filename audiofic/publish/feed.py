"""Publish: the cover, a podcast feed (a serial show, one episode per chapter) and an M3U playlist.

Guids are derived from the work and the chapter number, so re-rendering never duplicates an
episode; pubDates step forward from the work's first render, so apps list chapters in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import lxml.etree  # noqa: F401 - feedgen 1.0 uses lxml.etree without importing it

from feedgen.feed import FeedGenerator

from ..files import write_if_changed
from . import podcastindex
from .formats import FORMATS, per_chapter
from ..model import Work
from .tag import Cover

COVER_NAME = "cover.jpg"
DEFAULT_PORT = 8000


def identity_key(identity: dict) -> str:
    """A short stable id of a work, for feed guids."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


@dataclass
class Episode:
    number: int
    title: str
    path: Path
    seconds: float
    fmt: str
    readalong: dict[str, str] = field(default_factory=dict)  # vtt, srt, chapters → file name


def explicit(rating: str | None) -> str:
    """AO3's Mature and Explicit, NC-17, R: yes; General, Teen, PG: no."""
    value = (rating or "").strip().lower()
    words = value.replace("-", "").split()
    return "yes" if any(w in ("explicit", "mature", "nc17", "adult", "r", "ma", "m", "e") for w in words[:2]) else "no"


def base_time(work: Work, first_render: str) -> dt.datetime:
    for value in (work.published, first_render):
        try:
            return dt.datetime.fromisoformat(value[:19]).replace(tzinfo=dt.timezone.utc)
        except (TypeError, ValueError):
            continue
    return dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def write_feed(path: Path, work: Work, work_key: str, episodes: list[Episode], base_url: str,
               cover_name: str | None, first_render: str) -> str:
    base_url = base_url.rstrip("/") + "/"
    fg = FeedGenerator()
    fg.load_extension("podcast")
    podcastindex.register(fg)
    fg.title(work.title)
    fg.link(href=work.url or base_url, rel="alternate")
    fg.description(work.summary or f"{work.title}, read by audiofic.")
    fg.language(work.language)
    fg.author({"name": work.author or "Unknown author"})
    fg.podcast.itunes_author(work.author or "Unknown author")
    fg.podcast.itunes_type("serial")
    fg.podcast.itunes_explicit(explicit(work.rating))
    fg.podcast.itunes_category("Arts", "Books")
    fg.podcast.itunes_summary(work.summary or work.title)
    if work.complete:
        fg.podcast.itunes_complete("yes")
    if cover_name:
        fg.image(url=base_url + quote(cover_name), title=work.title, link=work.url or base_url)
        fg.podcast.itunes_image(base_url + quote(cover_name))
    start = base_time(work, first_render)
    for episode in episodes:
        _add_episode(fg, work, work_key, episode, base_url, start, episode.title)
    # the newest episode's date, not the clock: a render that changed nothing leaves the feed as it was
    fg.lastBuildDate(start + dt.timedelta(minutes=max((e.number for e in episodes), default=0)))
    return fg.rss_str(pretty=True).decode("utf-8")


def _add_episode(fg: FeedGenerator, work: Work, work_key: str, episode: Episode, base_url: str,
                 start: dt.datetime, title: str) -> None:
    entry = fg.add_entry(order="append")
    guid = f"audiofic:{work_key}:{episode.fmt}:{episode.number}"  # the work's identity, never its folder
    entry.id(guid)
    entry.guid(guid, permalink=False)
    entry.title(title)
    entry.description(f"{work.title}: {episode.title}")
    entry.enclosure(base_url + quote(episode.path.name), str(episode.path.stat().st_size), FORMATS[episode.fmt].mime)
    entry.published(start + dt.timedelta(minutes=episode.number))
    seconds = int(round(episode.seconds))
    entry.podcast.itunes_duration(f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}")
    entry.podcast.itunes_episode(episode.number)
    entry.podcast.itunes_episode_type("full")
    entry.podcast.itunes_explicit(explicit(work.rating))
    for kind in ("vtt", "srt"):
        if kind in episode.readalong:
            entry.podcastindex.transcript(base_url + quote(episode.readalong[kind]), kind, work.language)
    if "chapters" in episode.readalong:
        entry.podcastindex.chapters(base_url + quote(episode.readalong["chapters"]))


def shelf_feed(runs, base_url: str) -> str:
    """One feed of every chapter of every work on a shelf, each work's chapters in order."""
    fg = FeedGenerator()
    fg.load_extension("podcast")
    podcastindex.register(fg)
    fg.title("audiofic shelf")
    fg.link(href=base_url, rel="alternate")
    fg.description(f"{len(runs)} work{'s' if len(runs) != 1 else ''} read by audiofic: " + "; ".join(run.ready.work.title for run in runs))
    fg.language(runs[0].ready.work.language if runs else "en")
    fg.podcast.itunes_type("episodic")
    fg.podcast.itunes_category("Arts", "Books")
    fg.podcast.itunes_explicit(max((explicit(run.ready.work.rating) for run in runs), default="no"))
    newest = None
    for run in runs:
        work = run.ready.work
        start = base_time(work, run.manifest.first_render())
        folder = base_url + folder_url(run.options.output, run.out_dir)
        for episode in episodes(run.ready.plan, run.out_dir, run.manifest, run.options.formats):
            _add_episode(fg, work, identity_key(run.identity), episode, folder, start, f"{work.title}: {episode.title}")
            newest = max(newest or start, start + dt.timedelta(minutes=episode.number))
    if newest:  # not the clock: a shelf that changed nothing leaves its feed as it was
        fg.lastBuildDate(newest)
    return fg.rss_str(pretty=True).decode("utf-8")


def m3u(episodes: list[Episode], work: Work) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{work.title}"]
    for episode in episodes:
        lines.append(f"#EXTINF:{int(round(episode.seconds))},{work.author or 'Unknown author'} - {episode.title}")
        lines.append(episode.path.name)
    return "\n".join(lines) + "\n"


def publish_cover(out_dir: Path, cover: Cover) -> None:
    write_if_changed(out_dir / COVER_NAME, cover.data)


def local_url(output: Path, out_dir: Path) -> str:
    """Where `audiofic serve OUTPUT` serves a work's folder on this machine."""
    return f"http://127.0.0.1:{DEFAULT_PORT}/{folder_url(output, out_dir)}"


def folder_url(output: Path, out_dir: Path) -> str:
    """A work's folder as a URL path below OUTPUT's: "the-bell/", "Mara%20Quill/The%20Bell/"."""
    return "".join(quote(part) + "/" for part in Path(out_dir).relative_to(output).parts)


def publish(the_plan, out_dir: Path, manifest, formats: tuple[str, ...], base_url: str,
            identity: dict) -> None:
    """feed.xml and playlist.m3u8 for the chapters that have files, in chapter order."""
    found = episodes(the_plan, out_dir, manifest, formats)
    first = manifest.first_render()
    feed = write_feed(out_dir / "feed.xml", the_plan.work, identity_key(identity), found, base_url, COVER_NAME, first)
    write_if_changed(out_dir / "feed.xml", feed.encode("utf-8"))
    write_if_changed(out_dir / "playlist.m3u8", m3u(found, the_plan.work).encode("utf-8"))


def episodes(the_plan, out_dir: Path, manifest, formats: tuple[str, ...]) -> list[Episode]:
    """The chapters that have files, in chapter order (or the M4B when there are none)."""
    fmt = next(iter(per_chapter(formats)), None)
    found = []
    if fmt:
        for cp in the_plan.chapters:
            record = manifest.get(cp.chapter.number)  # a run.state.ChapterRecord
            if record and fmt in record.files and (out_dir / record.files[fmt]).exists():
                readalong = {kind: name for kind, name in record.captions.items()
                             if kind != "hash" and (out_dir / name).is_file()}
                found.append(Episode(cp.chapter.number, cp.chapter.title, out_dir / record.files[fmt],
                                     record.seconds, fmt, readalong))
    elif (record := manifest.get("m4b")) and (out_dir / record.file).exists():
        found.append(Episode(1, the_plan.work.title, out_dir / record.file, record.seconds, "m4b"))
    return found

