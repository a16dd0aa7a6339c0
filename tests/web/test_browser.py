"""End to end in a real headless browser: `v2a app` on the tiny zoo in a subprocess, driven by Playwright
with the system's Chromium. Screenshots are kept as test artefacts (their folder is printed).

Needs a Chromium (Debian/Ubuntu: `apt-get install chromium`; elsewhere set V2A_CHROMIUM to a Chrome or
Chromium executable) and `pip install playwright` (in the `test` extra; its own browser download is
not used). Without them the browser test is skipped with that message; the server test still runs.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest
import soundfile

pytest.importorskip("gradio", reason="the web app's extra is not installed: pip install -e '.[app]'")

INSTALL_HINT = ("install Chromium (Debian/Ubuntu: sudo apt-get install chromium) or set V2A_CHROMIUM to a "
                "Chrome/Chromium executable, and pip install playwright")
LOCAL_SCHEMES = ("data", "blob", "about", "chrome", "chrome-extension")
SECONDS = 1.0


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


@pytest.fixture(scope="module")
def app(zoo_models_toml, tmp_path_factory):
    """`v2a app` as a user starts it; its TMPDIR is a fresh folder so that the cleanup can be checked."""
    root = tmp_path_factory.mktemp("app-server")
    temp = root / "tmp"
    temp.mkdir()
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
    yield {"url": url, "process": process, "temp": temp, "stderr": root / "stderr.txt"}
    if process.poll() is None:
        process.kill()
    log.close()


def answers(url: str) -> bool:
    with urlopen(url, timeout=120) as response:
        return response.status == 200


def test_upload_generate_download_and_a_broken_file_in_the_browser(app, zoo_models_toml, tmp_path_factory):
    path = chromium()
    if path is None:
        pytest.skip(f"no Chromium found: {INSTALL_HINT}")
    playwright_api = pytest.importorskip("playwright.sync_api", reason=f"Playwright is not installed: {INSTALL_HINT}")
    from v2a_cli.testing.media import make_image

    shots = tmp_path_factory.mktemp("screenshots")
    print(f"\nbrowser screenshots: {shots}")
    image = make_image(shots / "dog.png", size=(128, 96))
    broken = shots / "broken.png"
    broken.write_bytes(b"this is text, not a picture")

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(180_000)  # generous: CI machines are slow and busy; a hang still fails
        leaving: list[str] = []
        page.on("request", lambda request: leaving.append(request.url)
                if urlparse(request.url).scheme not in LOCAL_SCHEMES
                and urlparse(request.url).hostname != "127.0.0.1" else None)
        page.goto(app["url"])
        page.get_by_text("Settings (all tabs)").click()
        # On a busy machine a field filled while the page is still settling can lose its value: fill,
        # leave the field (Gradio commits a number on change), and check the page kept it.
        for label, value in (("Steps (0: the preset's)", "2"), ("Seconds of sound", str(SECONDS))):
            field = page.get_by_label(label)
            field.fill(value)
            field.press("Tab")
            playwright_api.expect(field).to_have_value(value)
        page.screenshot(path=shots / "1-empty.png", full_page=True)

        page.locator("#generate-input input[type=file]").set_input_files(image)
        # Uploaded: the input lists the file with its download link. Wait on that link's file name, not on
        # the text Gradio shows (6.31 splits "dog.png" into "dog" and ".png").
        page.locator('#generate-input a[download="dog.png"]').wait_for()
        page.click("#generate-button")
        # The player's source: the audio component gets the file's address once the result is in.
        source = page.locator('#generate-sound-1 a[href*="/file="]')
        source.wait_for(state="attached")
        assert source.get_attribute("href").endswith("/dog.wav")
        page.locator("#generate-sound-1-spectrogram img").wait_for()
        page.locator("#generate-classes").wait_for()  # the bridge's sound classes, shown for a bridge mapper
        page.screenshot(path=shots / "2-generated.png", full_page=True)
        with page.expect_download() as download_info:
            page.locator('#generate-files a[download="dog.wav"]').click()
        wav = shots / "downloaded.wav"
        download_info.value.save_as(wav)
        info = soundfile.info(wav)
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, int(SECONDS * 16000))

        page.locator("#generate-input button[aria-label='Clear']").first.click()
        page.locator("#generate-input input[type=file]").set_input_files(broken)
        page.locator('#generate-input a[download="broken.png"]').wait_for()
        page.click("#generate-button")
        error = page.locator("#generate-status")
        playwright_api.expect(error).to_contain_text("broken.png: not an image that can be read", timeout=180_000)
        page.screenshot(path=shots / "3-error.png", full_page=True)
        assert "re-export it as JPEG or PNG" in error.inner_text()
        browser.close()

    assert answers(app["url"]), "the server stopped answering after the bad upload"
    assert leaving == [], f"requests left the machine: {leaving}"


def test_the_server_answers_and_removes_its_temporary_folder_on_exit(app):
    assert answers(app["url"])
    assert [p.name for p in app["temp"].iterdir()][0].startswith("v2a-app-")
    app["process"].send_signal(signal.SIGTERM)
    assert app["process"].wait(timeout=120) == 0, app["stderr"].read_text()
    assert list(app["temp"].iterdir()) == []
