"""The audiofic command line. Errors the user can fix are one line on stderr, exit 1."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import time
import warnings
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .errors import AudioficError, one_line
from .publish.formats import FORMATS
from .publish.library import LAYOUTS
from .run.plan import Options

if TYPE_CHECKING:
    from .run.job import Progress

EXIT_ERROR = 1
EPUB3 = "epub3"
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int = EXIT_ERROR):
    click.echo(f"audiofic: error: {message}", err=True)
    sys.exit(code)


def friendly(fn):
    """Turn every failure into one line on stderr and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        for stream in (sys.stdout, sys.stderr):  # a console that is not UTF-8 gets "?" for what it lacks
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="replace")
        warnings.showwarning = lambda message, *a, **k: click.echo(f"audiofic: warning: {message}", err=True)
        # Ctrl-C stops us even where we were started with SIGINT ignored (a shell's background job)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return fn(*args, **kwargs)
        except AudioficError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; run the same command again to resume", EXIT_INTERRUPTED)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(EXIT_ERROR)
        except OSError as exc:
            _fail(one_line(exc))
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if os.environ.get("AUDIOFIC_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (set AUDIOFIC_DEBUG=1 for details)")
        finally:
            # Done, or stopping: a Ctrl-C while Python shuts down would kill it with no word and
            # no exit status of ours (its own handler is gone by then). Nothing is left to stop.
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audiofic")
def main():
    """Render fan fiction into tagged per-chapter audiobooks, offline.

    \b
    audiofic render story.txt               one tagged MP3 per chapter in output/<work>/
    audiofic render story.txt --chapter 3   only chapter 3
    audiofic render story.txt --voices classic  espeak-ng instead of the natural voices
    audiofic script story.txt               how it will be read, segment by segment
    audiofic shelf downloads/ -o shelf     many works, one cache (--ray for a cluster)
    audiofic words story.txt                names and rare words, and how they are said
    audiofic voices                         the voices the installed engines offer
    audiofic studio story.txt               a page in your browser: hear the cast, fix lines, re-render
    """


source_argument = click.argument("file", type=click.Path(path_type=Path, dir_okay=True, exists=False))
title_option = click.option("--title", help="Use this work title instead of the file's.")
author_option = click.option("--author", help="Use this author instead of the file's.")
voices_option = click.option(
    "--voices", "voices", type=click.Path(path_type=Path),
    help="A voices TOML file layered over the defaults, or a shipped preset: classic (espeak-ng), hibari, neural."
)
notes_option = click.option(
    "--notes", type=click.Choice(["skip", "read", "separate"]), default="skip", show_default=True,
    help="Authors' notes: leave them out, read them in the chapter, or give them tracks of their own.")
summary_option = click.option("--no-summary", "no_summary", is_flag=True,
                              help="Do not read the work's summary at the start of chapter 1.")
force_option = click.option("--force", is_flag=True, help="Render again even where nothing changed.")
chapter_option = click.option(
    "--chapter", "chapters", multiple=True, metavar="N|A-B", help="Only these chapters (repeatable; ranges like 3-5)."
)
cast_from_option = click.option(
    "--cast-from", "cast_from", type=click.Path(path_type=Path, dir_okay=False),
    help="A cast file (voices.toml) of an earlier work: its characters keep their voices here.")
work_output_option = click.option(
    "--output", "-o", type=click.Path(path_type=Path), default=Path("output"), show_default=True,
    help="Where the work's own voices.toml is looked for.")


def rendering_options(output_help: str, cache_help: str):
    """The options `render` and `shelf` share, declared once."""
    shared = [
        click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("output"), show_default=True,
                     help=output_help),
        voices_option,
        click.option("--jobs", "-j", type=click.IntRange(1, 4096), default=None,
                     help="Worker processes for synthesis and encoding [default: CPU count; with --ray, the "
                          "cluster's CPUs]."),
        force_option,
        click.option("--cache", "cache", type=click.Path(path_type=Path), help=cache_help),
        click.option("--format", "formats", multiple=True, type=click.Choice([*FORMATS, EPUB3]),
                     help="Output format, repeatable: mp3 and opus give a file per chapter, m4b one file, "
                          "epub3 an EPUB whose text plays along with the MP3s [default: mp3]."),
        click.option("--loudness", default="audiobook", show_default=True,
                     help="audiobook (-18 LUFS, -3 dBTP), podcast (-16 LUFS, -1 dBTP) or LUFS,dBTP like -19,-2."),
        click.option("--base-url", help="Where the output will be served, for the feeds' enclosure URLs."),
        notes_option,
        summary_option,
        cast_from_option,
        click.option("--layout", type=click.Choice(LAYOUTS),
                     help="folders: OUTPUT/<work-slug>/; audiobookshelf: OUTPUT/Author/[Series/]Title/ with "
                          "the sidecar files Audiobookshelf reads [default: what OUTPUT was rendered in, else "
                          "folders]."),
        click.option("--captions", is_flag=True,
                     help="Read-along files beside each chapter: WebVTT and SRT captions timed from the audio, "
                          "JSON chapters with the scenes; the feed lists them (podcast:transcript)."),
        click.option("--recast", is_flag=True,
                     help="Cast every character again from today's voices, setting aside the voices in the "
                          "work's voices.toml (names, aliases and genders stay; the old file is kept as .bak)."),
    ]

    def decorate(fn):
        for option in reversed(shared):
            fn = option(fn)
        return fn

    return decorate


def options_from(given: dict) -> Options:
    """The command's options as one `Options` (every command builds it here)."""
    given = dict(given)
    given["read_summary"] = not given.pop("no_summary", False)
    formats = list(given.pop("formats", ()) or ["mp3"])
    if EPUB3 in formats:  # the EPUB holds the chapters' MP3s
        given["epub"] = True
        formats = [f for f in formats if f != EPUB3]
        formats += [] if "mp3" in formats else ["mp3"]
    given["formats"] = tuple(formats)
    return Options(**given)


@main.command()
@source_argument
@rendering_options("Folder that receives output/<work-slug>/.",
                   "Segment cache folder (default: inside the work's output folder).")
@chapter_option
@click.option("--cover", type=click.Path(path_type=Path), help="Cover image (JPEG or PNG); else one is drawn.")
@title_option
@author_option
@friendly
def render(file, **given):
    """Render FILE into tagged audio: one file per chapter (MP3 unless --format says otherwise)."""
    from .run.render import render as do_render

    with terminal_progress() as progress:
        report = do_render(file, options_from(given), progress)
    click.echo(f"{report.out_dir}: {report.line()}")
    if report.voices:
        click.echo(f"voices: {report.voices}\n  change one in {report.out_dir / 'voices.toml'} (`audiofic voices` lists "
                   "them); --voices classic reads with espeak-ng; --recast casts again from the defaults")


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@rendering_options("Folder that receives one folder per work, the shelf's cache and its feed.",
                   "Segment cache shared by every work (default: OUTPUT/.audiofic/cache).")
@click.option("--one-feed", is_flag=True, help="One feed of every work's chapters (OUTPUT/feed.xml) "
              "instead of a feed per work listed in OUTPUT/shelf.opml.")
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Synthesize and encode on a Ray cluster: auto (the one Ray finds), local (a throwaway "
                   "one on this machine) or HOST:PORT. Nodes must share OUTPUT and the cache.")
@click.option("--ray-gpus", type=click.FloatRange(0, 8), default=0.0, show_default=True,
              help="GPUs (or a share of one) each Ray synthesis actor asks for.")
@friendly
def shelf(sources, one_feed, ray_address, ray_gpus, **given):
    """Render many works: files, folders of downloads, or @LIST files (one path per line).

    Each work goes to OUTPUT/<work-slug>/ as with render; a work that fails is reported and the
    others go on; a summary comes at the end.
    """
    from .run.shelf import shelf as do_shelf

    options = options_from(given)
    backend = None
    if ray_address:
        from .run.cluster import RayBackend

        backend = RayBackend(ray_address, options.jobs, ray_gpus)
    with terminal_progress() as progress:
        report = do_shelf(list(sources), options, backend, progress, one_feed)
    for line in report.lines():
        click.echo(line)
    if report.failed:
        sys.exit(EXIT_ERROR)


@main.command()
@source_argument
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@voices_option
@chapter_option
@work_output_option
@cast_from_option
@click.option("--explain", is_flag=True,
              help="Show which attribution rule decided each dialogue line, and how sure it is.")
@click.option("--spoken", is_flag=True, help="Show the words as they will be said (numbers, lexicon, …).")
@notes_option
@summary_option
@title_option
@author_option
@friendly
def script(file, fmt, explain, spoken, **given):
    """Show how FILE will be read: chapter, kind, voice and text of every segment."""
    from .story.attribute import CONFIDENCE
    from .run.plan import prepare

    ready = prepare(file, options_from(given))
    selected = ready.selected
    for cp in ready.plan.chapters:
        if selected is not None and cp.chapter.number not in selected:
            continue
        if fmt == "text":
            click.echo(f"== {cp.chapter.number}. {cp.chapter.title}  ->  {cp.filename}")
        for index, p in enumerate(cp.segments):
            seg = p.segment
            if fmt == "jsonl":
                record = {
                    "chapter": cp.chapter.number, "title": cp.chapter.title, "index": index,
                    "kind": seg.kind, "speaker": seg.speaker, "engine": p.voice.engine, "voice": p.voice.voice,
                    "text": seg.text, "spoken": p.speech, "style": seg.style, "start": seg.start, "end": seg.end,
                }
                if explain:
                    record["rule"] = seg.rule if seg.kind == "dialogue" else None
                    record["confidence"] = CONFIDENCE.get(seg.rule) if seg.kind == "dialogue" else None
                click.echo(json.dumps(record, ensure_ascii=False))
            else:
                rule = f"[{seg.rule}, {CONFIDENCE.get(seg.rule, '?')}] " if explain and seg.kind == "dialogue" else ""
                shown = p.speech if spoken else seg.text
                click.echo(f"{index:>5} {seg.kind:<9} {p.reader[:18]:<18} {p.voice.voice:<16} {rule}{shown}")


@main.command("export-text")
@source_argument
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write it to this file (written whole, then renamed) instead of standard output.")
@voices_option
@chapter_option
@work_output_option
@cast_from_option
@notes_option
@title_option
@author_option
@friendly
def export_text(file, fmt, out_file, **given):
    """FILE as audiofic understood it: chapters, scene breaks and who says each line."""
    from .files import atomic_write
    from .run.export import work_text
    from .run.plan import prepare

    text = work_text(prepare(file, options_from(given), check_voices=False), markdown=fmt == "markdown")
    if out_file:
        atomic_write(out_file, text)
    else:
        click.echo(text, nl=False)


@main.command()
@source_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly
def info(file, fmt):
    """Show FILE's metadata and chapters: title, authors, tags, summary, words."""
    from .read.ingest import ingest
    from .story.spoken import has_reader_insert

    work = ingest(file)
    chapters = [c for c in work.chapters if c.kind == "chapter"]
    counts = [count_words(c.text) for c in chapters]
    record = {
        "title": work.title, "authors": work.authors, "fandoms": work.fandoms, "rating": work.rating,
        "language": work.language, "characters": work.characters, "relationships": work.relationships,
        "tags": work.tags, "warnings": work.warnings, "categories": work.categories, "series": work.series,
        "series_part": work.series_part, "published": work.published, "updated": work.updated,
        "url": work.url, "summary": work.summary,
        "words": work.words if work.words is not None else sum(counts),
        "chapters_total": work.chapters_total, "complete": work.complete,
        "chapters": [{"number": i, "title": c.title, "words": n} for i, (c, n) in enumerate(zip(chapters, counts), 1)],
        "reader_insert": any(has_reader_insert(c.text) for c in chapters),
    }
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=1))
        return
    total = "?" if work.chapters_total is None and work.chapters_posted is not None else (work.chapters_total or len(chapters))
    click.echo(f"{work.title}" + (f" by {', '.join(work.authors)}" if work.authors else ""))
    for label, value in (("Fandoms", work.fandoms), ("Rating", work.rating), ("Warnings", work.warnings),
                         ("Relationships", work.relationships), ("Characters", work.characters), ("Tags", work.tags),
                         ("Language", work.language), ("Series", work.series and f"{work.series} (part {work.series_part})"),
                         ("Published", work.published), ("Updated", work.updated), ("URL", work.url)):
        if value:
            click.echo(f"{label + ':':<15}{', '.join(value) if isinstance(value, list) else value}")
    click.echo(f"{'Words:':<15}{record['words']}")
    click.echo(f"{'Chapters:':<15}{len(chapters)}/{total}" + ("" if work.complete is not False else " (in progress)"))
    if work.summary:
        click.echo(f"{'Summary:':<15}{work.summary}")
    if record["reader_insert"]:
        click.echo(f"{'Reader-insert:':<15}yes: Y/N and the like are said from a [reader] table "
                   "(name = \"Sam\"), else as \"you\"")
    for c in record["chapters"]:
        click.echo(f"  {c['number']:>3}. {c['title']}  ({c['words']} words)")


@main.command()
@source_argument
@voices_option
@work_output_option
@cast_from_option
@notes_option
@title_option
@author_option
@click.option("--audition", is_flag=True,
              help="Also write one short WAV per cast member, each reading one of their own lines, "
                   "into OUTPUT/<work>/audition/ (numbered in cast order).")
@friendly
def cast(file, audition, **given):
    """Print FILE's cast: name, aliases, gender, lines, words and voice."""
    from .run.plan import prepare

    ready = prepare(file, options_from(given), find_new=True, check_voices=audition)
    work, casting = ready.work, ready.casting
    from .casting.cast import cast_notes, gender_reasons

    notes_for = cast_notes(list(casting.entries.values()))
    why = gender_reasons(work, casting)
    click.echo(f"{'name':<24} {'gender':<8} {'why':<14} {'lines':>5} {'words':>6}  {'voice':<22} aliases (merged)")
    for entry in sorted(casting.entries.values(), key=lambda e: (-e.lines, e.character.name)):
        c, v = entry.character, entry.voice
        voice = f"{v.voice} p{int(v.pitch)}" + (" (narrator)" if c.name == casting.narrator else "")
        marks = "".join(f"  [{note}]" for note in notes_for.get(c.name, []))
        click.echo(f"{c.name[:24]:<24} {c.gender:<8} {why[c.name]:<14} {entry.lines:>5} {entry.words:>6}  "
                   f"{voice:<22} {', '.join(c.aliases)}{marks}")
    unknown = sum(1 for ch in work.chapters for s in ch.segments if s.kind == "dialogue" and not s.speaker)
    click.echo(f"\nunattributed dialogue lines (read by the [dialogue] voice): {unknown}")
    if casting.new:
        names = ", ".join(c.name for c in casting.new[:12])
        click.echo(f"in the text but without a voice (give one a voice in the voices file to cast them): {names}")
    if audition:
        from .run.audition import audition as write_audition

        # in an Audiobookshelf library, out of its scanner's sight (it would add them to the book)
        folder = ready.out_dir / (".audiofic/audition" if ready.layout == "audiobookshelf" else "audition")
        files = write_audition(ready, folder)
        click.echo(f"audition: {len(files)} files in {folder}")


@main.command()
@source_argument
@voices_option
@work_output_option
@click.option("--all", "show_all", is_flag=True, help="Every word, not only the 40 most frequent.")
@friendly
def words(file, voices, output, show_all):
    """List FILE's names and rare words, most frequent first, with how they will be said.

    Fix the few that matter in a [lexicon] table before a long render."""
    import subprocess

    from .casting.config import load_layers
    from .read.ingest import ingest
    from .story.spoken import names_and_rare_words, spoken_form
    from .run.state import work_dir

    work = ingest(file)
    config, _ = load_layers(work_dir(output, work), voices, work.language, work.fandoms)
    found = names_and_rare_words("\n\n".join(c.text for c in work.chapters))
    found = found if show_all else found[:40]
    said = [spoken_form(word, config.speech) for word, _ in found]
    phonemes = [""] * len(said)
    if said:  # espeak-ng's phonemes: what the built-in engines all speak from
        from .engines import get_engine

        voice = get_engine(config.narrator.engine).language_of(config.narrator.voice)
        try:
            out = subprocess.run(["espeak-ng", "-q", "-x", "-v", voice, "--stdin"], capture_output=True, text=True,
                                 input="".join(f"{s}.\n" for s in said), timeout=60,
                                 env=dict(os.environ, PULSE_SERVER="none")).stdout.splitlines()
            lines = [line.strip() for line in out if line.strip()]
            if len(lines) == len(said):
                phonemes = lines
        except (OSError, subprocess.SubprocessError):
            pass
    click.echo(f"{'count':>5}  {'word':<24} {'said as':<24} espeak-ng phonemes")
    for (word, count), spoken, ph in zip(found, said, phonemes):
        click.echo(f"{count:>5}  {word[:24]:<24} {spoken[:24]:<24} {ph}")


@main.command()
@click.option("--engine", help="Only this engine's voices (pyttsx3, piper, kokoro, or module:Class).")
@click.option("--language", "-l", help="Only voices for this language code prefix (e.g. en).")
@click.option("--sample", "sample_voice", metavar="VOICE",
              help="Write a short sample of VOICE (of --engine, pyttsx3 unless given) instead of the list.")
@click.option("--out", "sample_out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where --sample writes its WAV [default: sample-VOICE.wav here].")
@friendly
def voices(engine, language, sample_voice, sample_out):
    """List the voices the installed engines offer, with gender (use the id in a voices file)."""
    from .engines import builtin_engines, get_engine

    if sample_voice:
        from .model import Voice
        from .publish.tag import safe_filename
        from .run.audition import sample

        chosen = get_engine(engine or "pyttsx3")
        voice = Voice(engine or "pyttsx3", sample_voice, 155.0, chosen.default_pitch, 1.0)
        path = sample(voice, sample_out or Path(safe_filename(f"sample-{sample_voice}") + ".wav"))
        click.echo(str(path))
        return

    for name in [engine] if engine else builtin_engines():
        try:
            eng = get_engine(name)
            listed = eng.voices()
        except AudioficError as exc:
            if engine:
                raise
            click.echo(f"[{name}] not available: {exc}\n")
            continue
        click.echo(f"[{name}]")
        shown = 0
        for v in listed:
            if language and not any(lang.startswith(language) for lang in (v.languages or (v.id,))):
                continue
            click.echo(f"{v.id:<30} {v.name:<30} {','.join(v.languages):<10} {(v.gender or 'neutral').lower()}")
            shown += 1
        palette = eng.palette(language or "en")
        cast_voices = ([(v, "female") for v in palette.female] + [(v, "male") for v in palette.male]
                       + [(v, "either") for v in palette.neutral if v not in palette.female + palette.male])
        if cast_voices:
            click.echo(f"Casting gives characters these, in this order, by gender ({language or 'en'}):")
            for voice_id, gender in cast_voices:
                click.echo(f"{voice_id:<30} {'cast voice':<30} {language or 'en':<10} {gender}")
        notes = eng.notes()
        click.echo(f"{shown} voices." + (f" {notes}" if notes else "") + "\n")
    if not engine:
        _echo_default_voices()


def _echo_default_voices() -> None:
    """Which voices a render in English uses when the user names none."""
    from .casting.cast import cast_palette
    from .casting.config import DEFAULT_VOICES_VARIABLE, default_voices, load_config

    preset = default_voices("en", None)
    config = load_config(preset)
    palette = cast_palette(config)
    click.echo(f"An English work is read, unless its voices file says otherwise, by "
               f"{'the natural voices' if preset else 'espeak-ng (classic)'}:")
    click.echo(f"  narrator {config.narrator.engine}/{config.narrator.voice}; unknown speakers "
               f"{config.dialogue.engine}/{config.dialogue.voice}")
    for gender, voices in (("women", palette.female), ("men", palette.male), ("others", palette.neutral)):
        click.echo(f"  {gender}: {', '.join(voices) or '-'}")
    click.echo(f"  --voices classic (or {DEFAULT_VOICES_VARIABLE}=classic) reads with espeak-ng; other languages always do.")


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("output"), show_default=True,
              help="The output folder whose works' manifests say which entries are in use.")
@click.option("--cache", "cache_dir", type=click.Path(path_type=Path), help="A shared cache given to render --cache.")
@click.option("--prune", is_flag=True, help="Delete entries that no rendered chapter uses.")
@friendly
def cache(output, cache_dir, prune):
    """Show the segment cache's size; --prune drops what no current chapter uses."""
    from .run.state import cache_usage

    if not Path(output).is_dir():
        raise AudioficError(f"{output}: no such output folder")
    stats = cache_usage(output, cache_dir, prune)
    for folder, entries, size in stats.works:
        click.echo(f"{folder.relative_to(output)}: {entries} segments, {size / 1e6:.1f} MB")
    line = f"{stats.entries} cached segments, {stats.bytes / 1e6:.1f} MB"
    if prune:
        line += f"; pruned {stats.removed} ({stats.freed / 1e6:.1f} MB)"
    click.echo(line)


@main.command()
@click.argument("folder", required=False, default="output", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets a phone on the same network subscribe.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@friendly
def serve(folder, host, port):
    """Serve FOLDER (default: output) with its feeds over HTTP, with byte ranges for seeking."""
    import socket

    from .publish.serve import feeds, make_server

    if not folder.is_dir():
        raise AudioficError(f"{folder}: no such folder")
    server = make_server(folder, host, port)
    shown = host if host not in ("0.0.0.0", "::") else socket.gethostbyname(socket.gethostname())
    actual = server.server_address[1]
    found = feeds(folder)
    for feed in found:
        click.echo(f"http://{shown}:{actual}/{feed.as_posix()}")
    if not found:
        click.echo(f"http://{shown}:{actual}/ (no feed yet: render a work first)")
    click.echo("Render with --base-url pointing here so the feed's links work. Ctrl-C stops.", err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command()
@source_argument
@work_output_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any but this machine's own needs the secret URL printed at start.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--no-browser", is_flag=True, help="Print the address; do not open a browser.")
@friendly
def studio(file, output, host, port, no_browser):
    """A local web page for FILE's cast, script and chapters: hear, fix, re-render."""
    import importlib.util
    import secrets
    import socket

    if importlib.util.find_spec("tomlkit") is None:
        raise AudioficError("the studio needs tomlkit: pip install -e '.[studio]' (./install.sh installs it)")
    from .publish.serve import quiet_server
    from .studio.app import LOOPBACK, create_app
    from .studio.work import StudioWork

    work = StudioWork(file, output)
    token = None if host in LOOPBACK else secrets.token_urlsafe(18)
    server = quiet_server(None, host, port)
    actual = server.server_address[1]
    shown = socket.gethostbyname(socket.gethostname()) if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    names = {f"{shown}:{actual}"} | ({f"{h}:{actual}" for h in ("127.0.0.1", "localhost", "[::1]")}
                                    if host in LOOPBACK else set())
    app = create_app(work, token, allowed_hosts=None if token else names)
    server.app = app
    url = f"http://{shown}:{actual}/" + (f"?token={token}" if token else "")
    click.echo(url)
    if token:
        click.echo("Anyone on your network with this address (token included) can change this work's cast.", err=True)
    click.echo("Ctrl-C stops the studio.", err=True)
    sys.stdout.flush()
    if not no_browser and _can_open_browser():
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        app.studio_stop()
        server.server_close()


def _can_open_browser() -> bool:
    """Only a graphical browser: on a console, webbrowser would start a text one in our terminal."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def count_words(text: str) -> int:
    """Words counted without a list of them: a chapter can be 30 MB of text."""
    return sum(1 for _ in re.finditer(r"\S+", text))


@contextlib.contextmanager
def terminal_progress():
    """A progress line on a terminal's stderr (None elsewhere), cleared however the run ends."""
    progress = TerminalProgress() if sys.stderr.isatty() else None
    try:
        yield progress
    finally:
        if progress:
            progress.close()


class TerminalProgress:
    """One self-rewriting line on stderr: chapters and segments done, time left."""

    def __init__(self):
        self._last = 0.0
        self._shown = False

    def __call__(self, state: Progress) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and state.segments_done < state.segments_total:
            return
        self._last = now
        done, total = state.segments_done, state.segments_total
        elapsed = now - state.started
        left = ""
        if 0 < done < total:
            left = f", about {int(elapsed / done * (total - done))} s left"
        line = ((f"works {state.works_done}/{state.works_total}, " if state.works_total > 1 else "")
                + f"chapters {state.chapters_done}/{state.chapters_total}, "
                f"segments {done}/{total}{left}")
        click.echo(f"\r{line:<70}", err=True, nl=False)
        self._shown = True

    def close(self):
        if self._shown:
            click.echo("\r" + " " * 70 + "\r", err=True, nl=False)


if __name__ == "__main__":
    main()
