"""A chapter re-rendered from the page: `python -m audiofic.studio.job OUTPUT WORK_FOLDER SOURCE
CHAPTER` runs the render in its own process (its workers, its Ctrl-C, as on the command line), with the
options of the work's last render, and prints its progress as JSON lines that the page polls."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import AudioficError


class Job:
    """One re-render at a time: its state, as the page shows it."""

    def __init__(self, output: Path, out_dir: Path, source: Path, chapter: int):
        self.chapter = chapter
        self.state = {"chapter": chapter, "running": True, "done": 0, "total": 0, "error": None}
        self._said = tempfile.TemporaryFile("w+")  # warnings can be many: a full pipe would stall the render
        self._proc = subprocess.Popen([sys.executable, "-m", "audiofic.studio.job", str(output), str(out_dir),
                                       str(source), str(chapter)], stdout=subprocess.PIPE, stderr=self._said, text=True)
        threading.Thread(target=self._follow, daemon=True).start()

    @property
    def running(self) -> bool:
        return self.state["running"]

    def _follow(self) -> None:
        for line in self._proc.stdout:
            try:
                self.state.update(json.loads(line))
            except ValueError:
                continue
        code = self._proc.wait()
        self._said.seek(0)
        err = self._said.read()
        self._said.close()
        if code and not self.state["error"]:
            self.state["error"] = (err.strip().splitlines() or [f"the render stopped with status {code}"])[-1]
        self.state["running"] = False

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()


def _emit(**state) -> None:
    print(json.dumps(state), flush=True)


def main(argv: list[str]) -> int:
    from ..run.plan import Options
    from ..run.render import render
    from ..run.state import recorded_options
    from .work import options_from_record

    output, out_dir, source, chapter = Path(argv[0]), Path(argv[1]), Path(argv[2]), int(argv[3])
    try:
        recorded = recorded_options(out_dir)  # the work is planned once, by the render itself
        options = options_from_record(recorded[1], output) if recorded else Options(output=output)
        options = dataclasses.replace(options, chapters=(str(chapter),))
        last = [0.0]

        def progress(state) -> None:
            if time.monotonic() - last[0] > 0.2 or state.segments_done == state.segments_total:
                last[0] = time.monotonic()
                _emit(done=state.segments_done, total=state.segments_total)

        report = render(source, options, progress=progress)
        _emit(seconds=round(report.wall_seconds, 1))
        return 0
    except AudioficError as exc:
        _emit(error=str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
