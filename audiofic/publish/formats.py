"""Output formats: one entry each, read by the encoder, the levels, the tag layer, the feed and serve.

22.05 kHz mono is what espeak-ng produces (no resampling) and covers speech's band; 64 kbit/s
MP3 is transparent for a synthetic voice at that rate and ~29 MB per hour. Opus runs at 24 kHz
(it has no 22.05 kHz mode); AAC's fast coder is 5x the default and good enough for speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import tag

SAMPLE_RATE = 22050
CHANNELS = 1


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    encoder: tuple[str, ...]  # ffmpeg's output arguments
    muxer: str
    mime: str
    write_tags: Callable
    per_chapter: bool  # one file per chapter; else one file for the whole work
    peak_margin: float  # dB kept under the true-peak ceiling for inter-sample peaks and overshoot
    codec_offset: float = 0.0  # LU the encoder takes, measured
    limiter_rate: int | None = None  # limit at the rate the encoder resamples to
    raise_after_limit: bool = True  # False where the codec's peaks overshoot most

    def encoder_args(self) -> list[str]:
        return list(self.encoder) + ["-ac", str(CHANNELS)]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("mp3", "mp3", ("-c:a", "libmp3lame", "-b:a", "64k", "-ar", str(SAMPLE_RATE)), "mp3", "audio/mpeg",
               tag.write_mp3_tags, per_chapter=True, peak_margin=2.0, codec_offset=0.3),
        Format("opus", "opus", ("-c:a", "libopus", "-b:a", "32k", "-ar", "24000", "-application", "voip"), "opus",
               "audio/ogg", tag.write_opus_tags, per_chapter=True, peak_margin=2.5, limiter_rate=24000,
               raise_after_limit=False),
        Format("m4b", "m4b", ("-c:a", "aac", "-aac_coder", "fast", "-b:a", "64k", "-ar", str(SAMPLE_RATE)), "ipod",
               "audio/x-m4b", tag.write_m4b_tags, per_chapter=False, peak_margin=2.0),
    )
}

# What serve hands out besides audio.
OTHER_MIME = {".xml": "application/rss+xml", ".m3u8": "audio/x-mpegurl", ".jpg": "image/jpeg", ".png": "image/png",
              ".vtt": "text/vtt", ".srt": "application/x-subrip", ".json": "application/json+chapters",
              ".epub": "application/epub+zip"}


def mime_for_suffix(suffix: str) -> str | None:
    suffix = suffix.lower()
    return next((f.mime for f in FORMATS.values() if "." + f.extension == suffix), None) or OTHER_MIME.get(suffix)


def per_chapter(formats) -> list[str]:
    return [f for f in formats if FORMATS[f].per_chapter]
