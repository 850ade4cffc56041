"""The studio, as a fan uses it: a real `audiofic studio` process, driven in Debian's headless
chromium (selenium with the system's chromedriver), over the example work rendered by espeak-ng.
Then its safety rules, each sent over loopback to a real server."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import tomllib

from audiofic.studio import edits
from conftest import EXAMPLE, run_cli, script_records

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def start_studio(out: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "audiofic", "studio", str(EXAMPLE), "-o", str(out), "--port", "0",
                             "--no-browser", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://"), proc.stderr.read() if proc.poll() is not None else url
    return proc, url


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode in (0, 130) and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("studio") / "out"
    assert run_cli("render", EXAMPLE, "-o", out).returncode == 0
    return out


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.mp3")}


@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (install.sh)")
def test_hear_a_character_pin_a_line_and_render_only_that_chapter(rendered):
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    work = next(p for p in rendered.iterdir() if p.is_dir())
    before = digests(work)
    chapter2 = [r for r in script_records(EXAMPLE, "-o", rendered, "--explain") if r["chapter"] == 2]
    line = next(r for r in chapter2 if r["kind"] == "dialogue")
    other = next(r["speaker"] for r in chapter2 if r["kind"] == "dialogue" and r["speaker"] != line["speaker"])
    proc, url = start_studio(rendered)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(DRIVER), options=options)
    wait = WebDriverWait(browser, 120, ignored_exceptions=(WebDriverException,))  # mid-reload
    try:
        browser.get(url)
        assert "The Lighthouse Keeper" in browser.title
        audition = browser.find_element(By.CSS_SELECTOR, "#cast tr.character audio.audition")
        browser.execute_script("arguments[0].preload = 'auto'; arguments[0].load();", audition)
        wait.until(lambda b: (b.execute_script("return arguments[0].duration", audition) or 0) > 0)
        assert browser.execute_script("return arguments[0].duration", audition) > 1  # a line, not a click
        if os.environ.get("AUDIOFIC_SCREENSHOT"):  # README's picture: AUDIOFIC_SCREENSHOT=docs/studio.png
            browser.save_screenshot(os.environ["AUDIOFIC_SCREENSHOT"])
        picker = browser.find_element(By.CSS_SELECTOR, "#cast tr.character select[name=voice]")
        choice = next(o for o in Select(picker).options if o.get_attribute("value").startswith("pyttsx3/")
                      and not o.is_selected())
        Select(picker).select_by_value(choice.get_attribute("value"))
        preview = browser.find_element(By.CSS_SELECTOR, "#cast tr.character audio.preview")
        assert "voice=" + choice.get_attribute("value").split("/", 1)[1].replace("+", "%2B") in preview.get_attribute("src")
        browser.execute_script("arguments[0].preload = 'auto'; arguments[0].load();", preview)
        wait.until(lambda b: (b.execute_script("return arguments[0].duration", preview) or 0) > 1)

        browser.get(url.rstrip("/") + "/chapter/2")
        row = browser.find_element(By.ID, f"line-{line['index']}")
        Select(row.find_element(By.NAME, "speaker")).select_by_visible_text(other)
        row.find_element(By.TAG_NAME, "button").click()
        wait.until(expected_conditions.staleness_of(row))  # the page came back from the server
        wait.until(lambda b: Select(b.find_element(By.ID, f"line-{line['index']}").find_element(By.NAME, "speaker"))
                   .first_selected_option.text == other)
        assert "stale" in browser.find_element(By.CSS_SELECTOR, "h1 .state").text

        button = browser.find_element(By.CSS_SELECTOR, "button.render")
        button.click()
        wait.until(expected_conditions.staleness_of(button))
        wait.until(lambda b: "rendered" == b.find_element(By.CSS_SELECTOR, "h1 .state").text
                   and "rendered." in b.find_element(By.ID, "job").text)
    finally:
        browser.quit()
        stop(proc)
    after = digests(work)
    assert [name for name in after if after[name] != before[name]] == [n for n in before if n.startswith("02 ")]
    now = [r for r in script_records(EXAMPLE, "-o", rendered) if r["chapter"] == 2]
    assert now[line["index"]]["speaker"] == other
    pins = tomllib.loads((work / "voices.toml").read_text())["overrides"]
    assert pins == {f"2:{line['index']}": other}


def _request(url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers or {}), timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _secret(page: str) -> str:
    return page.split('name="secret" value="', 1)[1].split('"', 1)[0]


def test_the_studio_refuses_cross_site_posts_paths_outside_the_work_and_its_state(rendered):
    proc, url = start_studio(rendered)
    work = next(p for p in rendered.iterdir() if p.is_dir())
    own = (work / "voices.toml").read_bytes()
    try:
        status, page = _request(url)
        assert status == 200
        name = json.loads(json.dumps(page.split('data-name="', 1)[1].split('"', 1)[0]))
        form = {"secret": _secret(page), "name": name, "gender": "female"}
        assert _request(url + "cast/gender", form, {"Origin": "http://evil.example"})[0] == 403
        assert _request(url + "cast/gender", form, {"Sec-Fetch-Site": "cross-site"})[0] == 403
        assert _request(url + "cast/gender", dict(form, secret="guessed"))[0] == 403
        assert (work / "voices.toml").read_bytes() == own  # nothing was written
        for path in ("file/../../../etc/passwd", "file/%2E%2E/%2E%2E/etc/passwd", "file/.audiofic/manifest.json",
                     "file/.audiofic/last-render.json", "file/..%2F..%2Fetc%2Fpasswd"):
            assert _request(url + path)[0] in (400, 404), path
        assert _request(url, headers={"Host": "attacker.example"})[0] == 403  # DNS rebinding
        assert _request(url + "cast/gender", form)[0] == 200  # the page's own form works, and rewrites the file
        assert tomllib.loads((work / "voices.toml").read_text())["characters"][name]["gender"] == "female"
    finally:
        stop(proc)


def test_a_studio_on_every_address_needs_its_token(rendered):
    proc, url = start_studio(rendered, "--host", "0.0.0.0")
    try:
        assert "?token=" in url
        local = "http://127.0.0.1:" + url.split(":", 2)[2].split("/", 1)[0] + "/"
        token = url.split("?token=", 1)[1]
        assert _request(local)[0] == 403
        assert _request(local + "?token=wrong")[0] == 403
        assert _request(local + "file/feed.xml")[0] == 403
        assert _request(local + f"?token={token}")[0] == 200
    finally:
        stop(proc)


def test_the_studio_edits_keep_the_users_comments_and_write_only_data(tmp_path):
    path = tmp_path / "voices.toml"
    path.write_text('# my notes on this cast\n[characters.Mara]  # the keeper\naliases = ["Mar"]\ngender = "female"\n'
                    '\n[characters."Mr. Quill"]\ngender = "male"\n\n[overrides]\n"1:4" = "Mr. Quill"\n')
    doc = edits.load(path)
    edits.rename(doc, "Mr. Quill", "Tobias")
    edits.merge(doc, "Tobias", "Mara")
    edits.pin(doc, 2, 7, "Mara")
    edits.set_gender(doc, "Mara", "unknown")
    edits.save(path, doc)
    text = path.read_text()
    assert "# my notes on this cast" in text and "# the keeper" in text
    data = tomllib.loads(text)
    assert data["characters"] == {"Mara": {"aliases": ["Mar", "Tobias", "Mr. Quill"], "gender": "unknown"}}
    assert data["overrides"] == {"1:4": "Mara", "2:7": "Mara"}
    with pytest.raises(Exception, match="not a voice"):
        edits.set_voice(doc, "Mara", "os", "getpid", {("os", "getpid")})
    with pytest.raises(Exception, match="gender"):
        edits.set_gender(doc, "Mara", "robot")
    assert path.read_text() == text


def test_the_studio_stops_on_ctrl_c(tmp_path):
    assert run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--chapter", "1").returncode == 0
    proc, url = start_studio(tmp_path / "out")
    assert _request(url)[0] == 200
    started = time.monotonic()
    stop(proc)
    assert time.monotonic() - started < 15
