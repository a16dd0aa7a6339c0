"""The page in this process, called over HTTP with gradio_client: the `/generate` API, errors, the queue."""

from __future__ import annotations

import socket
import threading
import time

from pathlib import Path

import pytest
import soundfile

pytest.importorskip("gradio", reason="the web app's extra is not installed: pip install -e '.[app]'")


UPLOAD_MB = 1.0
SETTINGS = ["fast", 2, 3, 0.5, "", 4.5]  # preset, steps, seed, seconds, negative prompt, guidance
COMPOSE_SLOTS = 4  # per kind, as the page has them


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def running_page(service):
    from v2a_cli.web.server import ServeOptions, launch, offline_environment

    with offline_environment(service.workdir):
        from gradio_client import Client

        from v2a_cli.web.page import build_page

        page = build_page(service)
        url, share_url = launch(page, ServeOptions(port=free_port(), max_upload_mb=UPLOAD_MB), service.workdir)
        assert share_url is None and url.startswith("http://127.0.0.1:")
        try:
            yield page, Client(url, verbose=False)
        finally:
            page.close()


@pytest.fixture
def client(running_page):
    return running_page[1]


def test_generate_endpoint_takes_the_input_file_first_and_defaults_for_the_rest(client):
    [parameters] = [endpoint["parameters"] for name, endpoint in client.view_api(print_info=False,
                    return_format="dict")["named_endpoints"].items() if name == "/generate"]
    assert parameters[0]["parameter_name"] == "input_file" and not parameters[0]["parameter_has_default"]
    assert all(parameter["parameter_has_default"] for parameter in parameters[1:])


def test_generate_endpoint_returns_the_wav_and_for_a_video_the_video(client, media):
    from gradio_client import handle_file

    from v2a_cli.media.video import probe_video

    wav, video = client.predict(handle_file(str(media["image"])), steps=2, duration=0.5, api_name="/generate")
    assert video is None
    info = soundfile.info(wav)
    assert (info.samplerate, info.frames) == (16000, 8000)
    wav, video = client.predict(handle_file(str(media["video"])), steps=2, duration=0.5, api_name="/generate")
    # A video gets sound for its whole length (--duration is for pictures).
    assert soundfile.info(wav).frames == round(probe_video(media["video"]).duration * 16000)
    assert probe_video(video).has_audio


def test_a_broken_file_is_the_one_line_message_and_the_server_keeps_answering(client, media):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="broken.png: not an image that can be read"):
        client.predict(handle_file(str(media["broken"])), steps=2, duration=0.5, api_name="/generate")
    wav, _ = client.predict(handle_file(str(media["image"])), steps=2, duration=0.5, api_name="/generate")
    assert soundfile.info(wav).frames == 8000


def test_a_second_request_waits_in_the_queue_until_the_first_is_done(client, service, media, monkeypatch):
    from gradio_client import handle_file
    from gradio_client.utils import Status

    release, started = threading.Event(), threading.Event()
    real_generate = service.generate
    running: list[str] = []

    def held(source, *args, **kwargs):  # the real generate, once the test lets the first request go on
        running.append(str(source))
        started.set()
        release.wait(60)
        return real_generate(source, *args, **kwargs)

    monkeypatch.setattr(service, "generate", held)
    first = client.submit(handle_file(str(media["image"])), steps=2, duration=0.5, api_name="/generate")
    assert started.wait(60)
    second = client.submit(handle_file(str(media["audio"])), steps=2, duration=0.5, api_name="/generate")
    deadline = time.monotonic() + 30
    while second.status().code != Status.IN_QUEUE and time.monotonic() < deadline:
        time.sleep(0.1)
    assert second.status().code == Status.IN_QUEUE and len(running) == 1
    release.set()
    assert first.result(timeout=120)[0].endswith("dog_seed0.wav")
    assert second.result(timeout=120)[0].endswith("frog_seed0.wav")
    assert len(running) == 2


def test_compose_tab_mixes_what_was_filled_in(running_page, media):
    page, _ = running_page
    empty = [None, 1.0] * (COMPOSE_SLOTS - 1)
    visuals = [str(media["image"]), 2.0, *empty]
    texts = ["heavy rain", 1.0, *["", 1.0] * (COMPOSE_SLOTS - 1)]
    sounds = [str(media["audio"]), 0.5, *empty]
    header, status, note, *slots, files = page(*visuals, *texts, *sounds, 2, *SETTINGS, api_name="compose")
    assert [Path(f).name for f in files["value"]] == ["scene_seed3.wav", "scene_seed4.wav", "scene_all.zip"]


def test_a_zero_weight_names_its_slot_and_no_flag(running_page, media):
    page, _ = running_page
    empty = [None, 1.0] * (COMPOSE_SLOTS - 1)
    texts = ["heavy rain", 0, *["", 1.0] * (COMPOSE_SLOTS - 1)]
    header, status, *rest = page(None, 1.0, *empty, *texts, None, 1.0, *empty, 1, *SETTINGS, api_name="compose")
    assert "Text 1: weight 0: must be more than 0" in str(status) and "--" not in str(status)


def test_interpolate_tab_takes_a_file_or_a_text_at_each_end(running_page, media):
    page, _ = running_page
    header, status, note, walk, walk_image, *steps, files = page(str(media["image"]), "", None, "a flute", 3, False,
                                                                 0.1, *SETTINGS, api_name="interpolate")
    assert [Path(f).name for f in files["value"]] == ["dog_to_a_flute_walk.wav", "dog_to_a_flute_step1of3.wav",
                                             "dog_to_a_flute_step2of3.wav", "dog_to_a_flute_step3of3.wav",
                                             "dog_to_a_flute_all.zip"]


def test_a_page_error_shows_in_the_tab_status_line(running_page, media):
    page, _ = running_page
    header, status, *rest = page(str(media["image"]), "", None, "", 3, False, 0.1, *SETTINGS, api_name="interpolate")
    assert "no end; upload a file or type a text" in str(status)
    header, status, *rest = page(str(media["image"]), "a bell", None, "rain", 3, False, 0.1, *SETTINGS,
                                 api_name="interpolate")
    assert "Start: give a file or a text, not both" in str(status)


def test_a_port_in_use_is_a_one_line_error(service):
    from v2a_cli.errors import V2AError
    from v2a_cli.web.page import build_page
    from v2a_cli.web.server import ServeOptions, launch

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(V2AError, match=f"--port {port} on 127.0.0.1: cannot listen"):
            launch(build_page(service), ServeOptions(port=port), service.workdir)


def test_an_upload_over_the_limit_is_refused(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * int(UPLOAD_MB * 1024 * 1024 + 1024))
    with pytest.raises(ValueError, match="exceeds the maximum file size of 1048576 bytes"):
        client.predict(handle_file(str(big)), steps=2, duration=0.5, api_name="/generate")
    # The server refuses it too (not only the client that read the limit from the page's config).
    import httpx

    response = httpx.post(client.src.rstrip("/") + "/gradio_api/upload", files={"files": ("big.png", big.read_bytes())})
    assert response.status_code == 413, response.text


def test_job_stops_keep_no_entry_for_a_tab_without_running_jobs():
    from v2a_cli.web.page import JobStops

    stops = JobStops()
    first, second = stops.start("tab"), stops.start("tab")
    stops.finish("tab", first)
    stops.stop("tab")
    assert second.is_set() and not first.is_set()
    stops.finish("tab", second)
    assert stops._flags == {}  # many tabs over a long-running app's life leave nothing behind
