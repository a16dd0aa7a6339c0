"""`v2a eval` through the CLI entry point (in process): table on stdout, JSON file, one-line errors."""

from __future__ import annotations

import json

import pytest

from v2a_cli.cli import main
from v2a_cli.testing.media import make_image, make_wav


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-eval")
    for i in range(3):
        make_wav(root / "gen" / f"clip{i}.wav", seconds=1.5, frequency=300 + 200 * i)
        make_wav(root / "refs" / f"clip{i}.wav", seconds=2.0, frequency=350 + 180 * i)
        make_image(root / "images" / f"clip{i}.jpg", color=(50 * i, 100, 150))
    (root / "gen" / "empty.flac").write_bytes(b"")
    return root


def run_cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_table_json_and_reported_bad_file(folders, zoo_models_toml, tmp_path, capsys):
    out = tmp_path / "scores.json"
    code = run_cli("--models", str(zoo_models_toml), "--quiet", "eval", str(folders / "gen"), "--refs",
                   str(folders / "refs"), "--images", str(folders / "images"), "--json", str(out), "--device", "cpu")
    captured = capsys.readouterr()
    assert code == 1, captured.err  # scores over the readable files, but empty.flac was left out
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == {"fd", "fad", "cs", "kl", "kl_sigmoid", "is", "is_std"}
    assert report["counts"]["pairs"] == 3
    assert "empty.flac: empty file" in captured.err
    assert "FD (PANNs)" in captured.out and "24.168" in captured.out  # the paper's number alongside
    assert run_cli("--models", str(zoo_models_toml), "eval", str(folders / "gen"), "--refs", str(folders / "refs"),
                   "--metrics", "kl", "--json", str(out)) == 1
    assert "output exists" in capsys.readouterr().err


def test_unknown_metric_is_one_line(folders, capsys):
    assert run_cli("eval", str(folders / "gen"), "--refs", str(folders / "refs"), "--metrics", "fd,bleu") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --metrics") and len(err.splitlines()) == 1
