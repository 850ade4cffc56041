"""A feedgen extension for the Podcasting 2.0 namespace: each episode's transcripts and its
JSON chapters (`podcast:transcript`, `podcast:chapters`), registered on a FeedGenerator."""

from __future__ import annotations

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

NAMESPACE = "https://podcastindex.org/namespace/1.0"
TRANSCRIPT_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip"}
CHAPTERS_TYPE = "application/json+chapters"


class PodcastIndexExtension(BaseExtension):
    def extend_ns(self):
        return {"podcast": NAMESPACE}


class PodcastIndexEntryExtension(BaseEntryExtension):
    def __init__(self):
        self._transcripts: list[dict[str, str]] = []
        self._chapters: str | None = None

    def transcript(self, url: str, kind: str, language: str | None = None) -> None:
        """A transcript of the episode; `kind` is vtt or srt (timed: players show them as captions)."""
        attrs = {"url": url, "type": TRANSCRIPT_TYPES[kind], "rel": "captions"}
        if language:
            attrs["language"] = language
        self._transcripts.append(attrs)

    def chapters(self, url: str) -> None:
        self._chapters = url

    def extend_rss(self, item):
        for attrs in self._transcripts:
            etree.SubElement(item, f"{{{NAMESPACE}}}transcript", attrs)
        if self._chapters:
            etree.SubElement(item, f"{{{NAMESPACE}}}chapters", {"url": self._chapters, "type": CHAPTERS_TYPE})
        return item


def register(fg) -> None:
    fg.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
