"""`v2a app` through the real CLI entry point: its options, and the one-line errors before anything starts.
(The running app is tested in tests/web/.)"""

from __future__ import annotations

import os
import sys

import pytest


def test_help_lists_the_app_options(v2a):
    code, stdout, _ = v2a("app", "--help")
    assert code == 0
    for option in ("--host", "--port", "--models", "--share", "--max-upload-mb"):
        assert option in stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--max-upload-mb", "0"], "error: --max-upload-mb 0: must be more than 0 and at most 1000000 (see 'v2a app --help')"),
    (["--port", "70000"], "error: --port 70000: must be from 1 to 65535 (see 'v2a app --help')"),
])
def test_bad_options_are_one_line_errors(v2a, args, message):
    code, _, stderr = v2a("app", *args)  # checked while parsing, as every numeric option (v2a_cli/validation.py)
    assert code == 2 and stderr.strip() == message


def test_the_library_checks_the_same_ranges():
    from v2a_cli.errors import V2AError
    from v2a_cli.web.server import ServeOptions, serve

    with pytest.raises(V2AError, match="--port 0: must be from 1 to 65535"):
        serve(lambda: None, ServeOptions(port=0))


def test_without_gradio_it_says_how_to_install_it_and_leaves_nothing(v2a, monkeypatch, tmp_path):
    from v2a_cli.web.server import INSTALL_APP

    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` fails as if it were not installed
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    before = dict(os.environ)
    code, _, stderr = v2a("app")
    assert code == 1 and stderr.strip() == f"error: {INSTALL_APP}"
    assert list(tmp_path.iterdir()) == [] and dict(os.environ) == before


def test_a_busy_port_is_one_line_before_any_model_loads(v2a, monkeypatch):
    import socket

    import v2a_cli.registry

    pytest.importorskip("gradio", reason="the web app's extra is not installed: pip install -e '.[app]'")

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded before the port was checked")

    for name in dir(v2a_cli.registry):
        if name.startswith("load_"):
            monkeypatch.setattr(v2a_cli.registry, name, no_loading)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, stderr = v2a("app", "--port", str(port))
    assert code == 1
    assert stderr.strip() == f"error: --port {port} on 127.0.0.1: cannot listen (it is in use); choose another port with --port"


def test_the_install_words_are_the_same_in_the_error_the_help_and_the_docs(v2a):
    from pathlib import Path

    code, stdout, _ = v2a("app", "--help")
    help_text = " ".join(stdout.replace("│", " ").split())
    assert code == 0 and "pip install -e '.[app]'" in help_text and "v2a-cli[app]" in help_text
    root = Path(__file__).resolve().parents[2]
    for page in ("README.md", "docs/app.md"):
        assert "pip install -e '.[app]'" in (root / page).read_text(), page
