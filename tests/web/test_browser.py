"""End to end in a real headless browser: `v2a app` on the tiny zoo in a subprocess (one server for every
test here), driven by Playwright with the system's Chromium, at a laptop's 1366×768.

Screenshots are kept as test artefacts (their folder is printed with `pytest -s`); with
V2A_DOCS_SCREENSHOTS=1 the three tabs with a result are also written to docs/ (app-generate.png,
app-compose.png, app-interpolate.png), so normal runs leave the tree alone.

Needs a Chromium (Debian/Ubuntu: `apt-get install chromium`; elsewhere set V2A_CHROMIUM to a Chrome or
Chromium executable) and `pip install playwright` (in the `test` extra; its own browser download is
not used). Without them the browser tests are skipped with that message; the server test still runs.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest
import soundfile

pytest.importorskip("gradio", reason="the web app's extra is not installed: pip install -e '.[app]'")

INSTALL_HINT = ("install Chromium (Debian/Ubuntu: sudo apt-get install chromium) or set V2A_CHROMIUM to a "
                "Chrome/Chromium executable, and pip install playwright")
LOCAL_SCHEMES = ("data", "blob", "about", "chrome", "chrome-extension")
SECONDS = 1.0
VIEWPORT = {"width": 1366, "height": 768}  # a common laptop screen: results must show without scrolling
ERROR_RGB = "rgb(185, 28, 28)"  # page.ERROR_COLOUR
DOCS = Path(__file__).resolve().parents[2] / "docs"


def chromium() -> str | None:
    for candidate in (os.environ.get("V2A_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(zoo_models_toml, root: Path) -> Iterator[dict]:
    """`v2a app` as a user starts it; its TMPDIR is a fresh folder so that the cleanup can be checked."""
    temp = root / "tmp"
    temp.mkdir(parents=True)
    log = (root / "stderr.txt").open("w")
    env = {**os.environ, "TMPDIR": str(temp), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "v2a_cli", "--models", str(zoo_models_toml), "app", "--mapper", "bridge",
         "--port", str(free_port()), "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        url = lines.get(timeout=300).strip()
    except queue.Empty:
        process.kill()
        pytest.fail(f"v2a app printed no address; its stderr: {(root / 'stderr.txt').read_text()}")
    try:
        yield {"url": url, "process": process, "temp": temp, "stderr": root / "stderr.txt"}
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def app(zoo_models_toml, tmp_path_factory):
    """The app the browser tests share."""
    with running_app(zoo_models_toml, tmp_path_factory.mktemp("app-server")) as started:
        yield started


@pytest.fixture(scope="module")
def browser(app, tmp_path_factory):
    """One Chromium for the module; `new_page()` opens a tab on the app at 1366×768 with the settings
    for the tiny zoo (2 steps, 1 s), recording every request that leaves 127.0.0.1."""
    path = chromium()
    if path is None:
        pytest.skip(f"no Chromium found: {INSTALL_HINT}")
    playwright_api = pytest.importorskip("playwright.sync_api", reason=f"Playwright is not installed: {INSTALL_HINT}")
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"\nbrowser screenshots: {shots}")
    leaving: list[str] = []

    with playwright_api.sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=path, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])

        def new_page(steps: str = "2", seconds: str = str(SECONDS)):
            page = chrome.new_page(accept_downloads=True, viewport=VIEWPORT)
            page.set_default_timeout(180_000)  # generous: CI machines are slow and busy; a hang still fails
            page.on("request", lambda request: leaving.append(request.url)
                    if urlparse(request.url).scheme not in LOCAL_SCHEMES
                    and urlparse(request.url).hostname != "127.0.0.1" else None)
            page.goto(app["url"])
            page.locator("#settings").get_by_text("Settings (all tabs)").click()
            set_field(page, "#setting-steps input", steps)
            set_field(page, "#setting-duration input", seconds)
            page.locator("#settings").get_by_text("Settings (all tabs)").click()  # closed again: room for results
            return page

        yield {"new_page": new_page, "shots": shots, "leaving": leaving, "expect": playwright_api.expect}
        chrome.close()
    assert leaving == [], f"requests left the machine: {leaving}"


def set_field(page, selector: str, value: str) -> None:
    """Fill a field, leave it (Gradio commits a number on change) and check the page kept the value: on a
    busy machine a field filled while the page is still settling can lose it."""
    from playwright.sync_api import expect

    field = page.locator(selector)
    # A page still settling can put the preset's value back after the fill (seen on a loaded machine: the
    # steps back at 25): fill again until the page keeps the value, as a user would.
    for _ in range(20):
        field.fill(value)
        field.press("Tab")
        try:
            expect(field).to_have_value(value, timeout=3_000)
            page.wait_for_timeout(500)
            expect(field).to_have_value(value, timeout=1_000)
            return
        except AssertionError:
            continue
    expect(field).to_have_value(value)


def contains(locator, text: "str | re.Pattern") -> None:
    """Wait until the element shows `text` (Gradio may split a text over several elements)."""
    from playwright.sync_api import expect

    expect(locator).to_contain_text(text, timeout=180_000)


def upload(page, selector: str, path: Path) -> None:
    page.locator(f"{selector} input[type=file]").set_input_files(path)


def in_view(page, selector: str) -> bool:
    """The element is visible inside the window as it is now (no scrolling)."""
    return page.locator(selector).evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; }")


def docs_screenshot(page, name: str) -> None:
    if os.environ.get("V2A_DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=DOCS / name)


def old_codec_video(path: Path, codec: str = "msmpeg4", frames: int = 20) -> Path:
    """An AVI as old cameras and `vtest.avi` have it: MPEG-4 v3 (msmpeg4), no sound."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for index in range(frames):
            pixels = np.zeros((64, 96, 3), dtype=np.uint8)
            pixels[:, : 4 * index + 4] = (40, 160, 220)  # a bar growing left to right
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_a_picture_is_previewed_generated_downloaded_and_bad_input_is_a_red_line(app, browser):
    from v2a_cli.testing.media import make_image

    shots = browser["shots"]
    image = make_image(shots / "dog.png", size=(128, 96))
    broken = shots / "broken.png"
    broken.write_bytes(b"this is text, not a picture")
    page = browser["new_page"]()

    upload(page, "#generate-input", image)
    page.locator("#generate-preview-image img").wait_for()  # the upload is shown, not only its name
    page.locator("#generate-sources").wait_for()  # sources apply to pictures
    assert not page.locator("#generate-start").is_visible()  # start/end are for videos
    page.click("#generate-button")
    source = page.locator('#generate-sound-1 a[href*="/file="]')
    source.wait_for(state="attached")
    assert source.get_attribute("href").endswith("/dog_seed0.wav")
    page.locator("#generate-sound-1-spectrogram img").wait_for()
    page.locator("#generate-classes").wait_for()
    assert in_view(page, "#generate-sound-1")
    page.screenshot(path=shots / "1-generated.png", full_page=True)
    docs_screenshot(page, "app-generate.png")
    with page.expect_download() as download_info:
        page.locator('#generate-files a[download="dog_seed0.wav"]').click()
    wav = shots / "downloaded.wav"
    download_info.value.save_as(wav)
    info = soundfile.info(wav)
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, int(SECONDS * 16000))

    # A setting out of range: one red line naming the field, the previous result stays.
    page.locator("#settings").get_by_text("Settings (all tabs)").click()
    set_field(page, "#setting-guidance input", "200")
    page.click("#generate-button")
    error = page.locator("#generate-status")
    contains(error, "Guidance 200: must be from 0 to 100")
    assert error.evaluate("e => getComputedStyle(e.querySelector('p') || e).color") == ERROR_RGB
    assert "--" not in error.inner_text()
    assert page.locator('#generate-sound-1 a[href$="/dog_seed0.wav"]').count() == 1
    set_field(page, "#setting-guidance input", "4.5")

    # A broken file: the same one-line message as the CLI, with the file's name only.
    page.locator("#generate-input button[aria-label='Clear']").first.click()
    upload(page, "#generate-input", broken)
    contains(error, "broken.png: not an image that can be read")  # said at upload already
    page.click("#generate-button")
    contains(error, "broken.png: not an image that can be read")
    assert "re-export it as JPEG or PNG" in error.inner_text() and str(shots) not in error.inner_text()
    page.screenshot(path=shots / "2-error.png", full_page=True)

    # Text alone, from a clicked example.
    page.locator("#generate-input button[aria-label='Clear']").first.click()
    page.locator("#generate-examples").get_by_text("text: heavy rain").click()
    browser["expect"](page.locator("#generate-prompt textarea")).to_have_value("heavy rain on a tin roof")
    page.click("#generate-button")
    page.locator('#generate-sound-1 a[href$="/heavy_rain_on_a_tin_roof_seed0.wav"]').wait_for(state="attached")
    page.close()
    assert "Traceback" not in app["stderr"].read_text()


def test_an_old_codec_video_comes_back_as_videos_the_browser_plays_one_per_variation(app, browser):
    shots = browser["shots"]
    video = old_codec_video(shots / "vtest.avi")
    page = browser["new_page"]()

    upload(page, "#generate-input", video)
    note = page.locator("#generate-preview-note")
    contains(note, "video, 2.0 s, 96×64")
    assert "cannot play msmpeg4" in note.inner_text()
    page.locator("#generate-preview-image img").wait_for()  # its first frame, as the browser cannot play it
    page.locator("#generate-start").wait_for()
    browser["expect"](page.locator("#generate-end input")).to_have_value("2")
    page.locator("#generate-variations input[type=number]").fill("2")
    page.locator("#generate-variations input[type=number]").press("Tab")
    page.click("#generate-button")
    for index, seed in ((1, 0), (2, 1)):
        player = page.locator(f"#generate-video-{index} video")
        player.wait_for()
        assert f"variation {index} (seed {seed})" in page.locator(f"#generate-video-{index}").inner_text()
        page.wait_for_function(f"() => document.querySelector('#generate-video-{index} video').readyState >= 2")
        start = player.evaluate("v => { v.muted = true; v.play(); return v.currentTime; }")
        page.wait_for_function(f"t => document.querySelector('#generate-video-{index} video').currentTime > t",
                               arg=start)
    assert "video re-encoded as H.264" in page.locator("#generate-note").inner_text()
    assert str(shots) not in page.content() and "/tmp/" not in page.locator("#generate-note").inner_text()
    page.screenshot(path=shots / "3-video.png", full_page=True)
    page.close()


def test_compose_shows_its_result_without_scrolling_and_adds_slots_as_needed(browser):
    page = browser["new_page"]()
    page.get_by_role("tab", name="Compose").click()
    page.click("#compose-button")  # nothing filled in
    error = page.locator("#compose-status")
    contains(error, "nothing to compose; add a picture, a video, a text or a sound")
    assert in_view(page, "#compose-status") and "--" not in error.inner_text()

    assert not page.locator("#compose-text-2").is_visible()
    page.click("#compose-add-text")
    page.locator("#compose-text-2").wait_for()
    page.locator("#compose-text-1 textarea").fill("heavy rain")
    page.locator("#compose-text-2 textarea").fill("thunder")
    set_field(page, "#compose-text-2-weight input", "0.5")
    page.click("#compose-button")
    page.locator('#compose-sound-1 a[href$="/scene_seed0.wav"]').wait_for(state="attached")
    assert page.evaluate("scrollY") == 0 and in_view(page, "#compose-sound-1")
    assert not error.is_visible()
    page.screenshot(path=browser["shots"] / "4-compose.png")
    docs_screenshot(page, "app-compose.png")
    page.close()


def test_interpolate_refuses_two_inputs_for_one_end_and_walks(browser):
    from v2a_cli.testing.media import make_image

    image = make_image(browser["shots"] / "cat.png", size=(96, 96), color=(40, 90, 200))
    page = browser["new_page"]()
    page.get_by_role("tab", name="Interpolate").click()
    upload(page, "#interpolate-start-file", image)
    page.locator("#interpolate-start-text textarea").fill("a bell")
    page.locator("#interpolate-end-text textarea").fill("heavy rain")
    set_field(page, "#interpolate-points input[type=number]", "3")
    page.click("#interpolate-button")
    contains(page.locator("#interpolate-status"), "Start: give a file or a text, not both")
    page.locator("#interpolate-start-text textarea").fill("")
    page.click("#interpolate-button")
    page.locator('#interpolate-walk a[href$="/cat_to_heavy_rain_walk.wav"]').wait_for(state="attached")
    page.locator('#interpolate-files a[download="cat_to_heavy_rain_all.zip"]').wait_for()
    assert in_view(page, "#interpolate-walk")
    page.screenshot(path=browser["shots"] / "5-interpolate.png")
    docs_screenshot(page, "app-interpolate.png")
    page.close()


def test_cancel_stops_a_long_job_and_the_next_one_starts_at_once(browser):
    long_job = browser["new_page"](steps="10000", seconds="10")  # minutes, even on the tiny zoo
    long_job.locator("#generate-prompt textarea").fill("an endless drone")
    long_job.click("#generate-button")
    long_job.locator("#generate-results").get_by_text("step").first.wait_for()  # running: the bar names the step
    long_job.click("#generate-cancel")
    # "Stopping…" shows until the job reaches its next step, then "Stopped.": a fast machine may skip the first.
    contains(long_job.locator("#generate-note"), re.compile("Stopping|Stopped"))

    other = browser["new_page"]()  # another person, queued behind it
    other.locator("#generate-prompt textarea").fill("birds")
    other.click("#generate-button")
    other.locator('#generate-sound-1 a[href$="/birds_seed0.wav"]').wait_for(state="attached")
    assert long_job.locator("#generate-sound-1 a").count() == 0  # the cancelled job gave nothing

    # Closing a tab stops its job too.
    closed = browser["new_page"](steps="10000", seconds="10")
    closed.locator("#generate-prompt textarea").fill("an endless drone")
    closed.click("#generate-button")
    closed.locator("#generate-results").get_by_text("step").first.wait_for()
    closed.close()
    other.locator("#generate-prompt textarea").fill("wind")
    other.click("#generate-button")
    other.locator('#generate-sound-1 a[href$="/wind_seed0.wav"]').wait_for(state="attached")
    long_job.close()
    other.close()


def answers(url: str) -> bool:
    with urlopen(url, timeout=120) as response:
        return response.status == 200


def test_the_server_answers_and_removes_its_temporary_folder_on_exit(zoo_models_toml, tmp_path):
    with running_app(zoo_models_toml, tmp_path) as app:  # its own: stopping the shared one would end the others
        assert answers(app["url"])
        assert [p.name for p in app["temp"].iterdir()][0].startswith("v2a-app-")
        app["process"].send_signal(signal.SIGTERM)
        assert app["process"].wait(timeout=120) == 0, app["stderr"].read_text()
        assert list(app["temp"].iterdir()) == []
