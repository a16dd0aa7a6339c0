"""The page in this process, called over HTTP with gradio_client: the `/generate` API, errors, the queue."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import soundfile

pytest.importorskip("gradio", reason="the web app's extra is not installed: pip install -e '.[app]'")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def client(service):
    with pytest.MonkeyPatch.context() as patch:
        from v2a_cli.web.server import OFFLINE_ENVIRONMENT, ServeOptions, launch

        for name, value in OFFLINE_ENVIRONMENT.items():
            patch.setenv(name, value)
        from gradio_client import Client

        from v2a_cli.web.page import build_page

        page = build_page(service)
        url, share_url = launch(page, ServeOptions(port=free_port()), service.workdir)
        assert share_url is None and url.startswith("http://127.0.0.1:")
        try:
            yield Client(url, verbose=False)
        finally:
            page.close()


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
    assert soundfile.info(wav).frames == 8000 and probe_video(video).has_audio


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
    assert first.result(timeout=120)[0].endswith("dog.wav")
    assert second.result(timeout=120)[0].endswith("frog.wav")
    assert len(running) == 2
