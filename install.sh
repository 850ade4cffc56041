#!/bin/sh
# One command: system packages, the Python package in .venv, then a render of the example work.
# Run as root on Debian (or with sudo available); safe to run again.
set -eu
cd "$(dirname "$0")"

need=""
command -v espeak-ng >/dev/null 2>&1 || need="$need espeak-ng"
command -v ffmpeg >/dev/null 2>&1 || need="$need ffmpeg"
# A headless browser for the studio's tests and its screenshot (Debian's own builds).
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
# The EPUB 3 validator the read-along tests run (Java).
[ -f /usr/share/java/epubcheck.jar ] || need="$need epubcheck"
# libFLAC writes the speech cache (ffmpeg and chromium bring it; Debian's flac package, if not).
ldconfig -p 2>/dev/null | grep -q 'libFLAC\.so' || need="$need flac"
command -v python3 >/dev/null 2>&1 || need="$need python3"
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need="$need python3-venv"
fi
if [ -n "$need" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,neural,ray,studio]'

if [ "${1:-}" != "--no-render" ]; then
    .venv/bin/audiofic render examples/the-lighthouse-keepers-cat.md
fi
