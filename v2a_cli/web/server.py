"""Running the page: offline settings, one temporary folder removed on exit, a queue, an upload limit.

    v2a app                      # http://127.0.0.1:7860, this machine only
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from v2a_cli.errors import V2AError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Set before Gradio is imported (it reads some of them at import): no telemetry, no version check,
# nothing fetched from the Hub; uploads and results in our own temporary folder.
OFFLINE_ENVIRONMENT = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_RUN_HISTORY": "False",
    "GRADIO_MCP_SERVER": "False",
    "GRADIO_SSR_MODE": "False",
}

# The same words in the error, in `v2a app --help`, in README.md and docs/app.md.
INSTALL_APP = ("the web app needs Gradio, the 'app' extra: pip install -e '.[app]' in a clone of v2a "
               "(pip install 'v2a-cli[app]' from PyPI)")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"  # interface to listen on; other hosts make the page reachable from the network
    port: int = 7860  # TCP port
    share: bool = False  # ask Gradio for a public *.gradio.live link (goes through the Internet)
    max_upload_mb: float = 200.0  # largest upload accepted, in megabytes


@contextmanager
def offline_environment(workdir: Path) -> Iterator[None]:
    """OFFLINE_ENVIRONMENT and Gradio's temporary folder in `workdir`, while the app runs."""
    settings = {**OFFLINE_ENVIRONMENT, "GRADIO_TEMP_DIR": str(workdir / "gradio")}
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_gradio():
    try:
        import gradio
    except ModuleNotFoundError as exc:
        if exc.name != "gradio":
            raise
        raise V2AError(INSTALL_APP) from None
    return gradio


def launch(page, options: ServeOptions, workdir: Path) -> tuple[str, str | None]:
    """Start `page` in the background with the queue, the upload limit and nothing sent off the machine.
    Returns (local URL, share URL or None)."""
    from v2a_cli.web.page import PAGE_CSS

    page.queue(default_concurrency_limit=1, max_size=None)  # a second request waits; it never fails
    try:
        _, url, share_url = page.launch(
            server_name=options.host, server_port=options.port, share=options.share,
            max_file_size=f"{int(options.max_upload_mb * 1024 * 1024)}b", allowed_paths=[str(workdir)],
            prevent_thread_lock=True, quiet=True, show_error=True, footer_links=["api"], run_history=False,
            enable_monitoring=False, mcp_server=False, ssr_mode=False, pwa=False, css=PAGE_CSS)
    except OSError as exc:
        reason = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or "not allowed").lower()
        raise V2AError(f"--port {options.port} on {options.host}: cannot listen ({reason}); choose another port "
                       "with --port") from None
    return url, share_url


def check_port(options: ServeOptions) -> None:
    """Fail in one line, before any model loads, when the port cannot be listened on (in use, or not
    allowed). The test listens as the server will (address reuse on, as uvicorn sets it)."""
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((options.host, options.port))
            probe.listen()
    except OSError as exc:
        reason = "it is in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        raise V2AError(f"--port {options.port} on {options.host}: cannot listen ({reason}); choose another port "
                       "with --port") from None


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def serve(make_pipeline: Callable[[], object], options: ServeOptions = ServeOptions(), *,
          on_ready: Callable[[str], None] = print, log: Callable[[str], None] = print) -> None:
    """Load the models, start the page, and block until Ctrl+C or SIGTERM; then remove every file."""
    from v2a_cli.validation import check_options

    check_options(options, ["port", "max_upload_mb"])  # the CLI checked them already; Python callers too
    workdir = Path(tempfile.mkdtemp(prefix="v2a-app-"))
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with offline_environment(workdir):
            _serve(make_pipeline, options, workdir, on_ready, log)
    except KeyboardInterrupt:
        log("stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)


def _serve(make_pipeline: Callable[[], object], options: ServeOptions, workdir: Path,
           on_ready: Callable[[str], None], log: Callable[[str], None]) -> None:
    page = None
    try:
        import_gradio()
        check_port(options)  # before the models load (minutes with real weights)
        from v2a_cli.web.examples import write_examples
        from v2a_cli.web.page import build_page
        from v2a_cli.web.service import AppService

        service = AppService(make_pipeline(), workdir)
        log("loading models")
        service.warm()
        page = build_page(service, examples=write_examples(workdir / "examples"))
        url, share_url = launch(page, options, workdir)
        if options.host not in LOCAL_HOSTS:
            log(f"warning: listening on {options.host}: other machines on the network can use this page")
        log(f"temporary files in {workdir} (removed on exit); Ctrl+C stops")
        on_ready(url)
        if share_url:
            on_ready(share_url)
        while True:
            time.sleep(0.5)
    finally:
        if page is not None:
            page.close()
