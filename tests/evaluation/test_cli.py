"""`v2a eval` through the CLI entry point (in process): table or JSON on stdout, JSON file, one-line errors."""

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


def test_table_on_stdout_save_json_file_and_reported_bad_file(folders, zoo_models_toml, tmp_path, capsys):
    out = tmp_path / "scores.json"
    code = run_cli("--models", str(zoo_models_toml), "--quiet", "eval", str(folders / "gen"), "--refs",
                   str(folders / "refs"), "--images", str(folders / "images"), "--save-json", str(out), "--device", "cpu")
    captured = capsys.readouterr()
    assert code == 1, captured.err  # scores over the readable files, but empty.flac was left out
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == {"fd", "fad", "cs", "kl", "kl_sigmoid"}  # IS: too few files for 10 parts
    assert "is" in report["skipped"]
    assert report["counts"]["pairs"] == 3
    assert "empty.flac: empty file" in captured.err
    assert "FD (PANNs)" in captured.out and "24.168" in captured.out  # the paper's number alongside
    assert run_cli("--models", str(zoo_models_toml), "eval", str(folders / "gen"), "--refs", str(folders / "refs"),
                   "--metrics", "kl", "--save-json", str(out)) == 1
    assert "output exists" in capsys.readouterr().err


def test_json_prints_the_results_alone_on_stdout_and_save_json_writes_the_same(tmp_path, zoo_models_toml, capsys):
    for i in range(2):
        make_wav(tmp_path / "gen" / f"clip{i}.wav", seconds=1.0, frequency=300 + 100 * i)
        make_wav(tmp_path / "refs" / f"clip{i}.wav", seconds=1.0, frequency=320 + 100 * i)
    saved = tmp_path / "scores.json"
    code = run_cli("--models", str(zoo_models_toml), "--quiet", "eval", str(tmp_path / "gen"), "--refs",
                   str(tmp_path / "refs"), "--metrics", "kl", "--json", "--save-json", str(saved), "--device", "cpu")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    printed = json.loads(captured.out)  # nothing but the JSON: no table
    assert set(printed["metrics"]) == {"kl", "kl_sigmoid"} and printed["counts"]["pairs"] == 2
    assert json.loads(saved.read_text()) == printed


def test_json_followed_by_a_file_name_says_to_use_save_json(folders, tmp_path, capsys, monkeypatch):
    """`--json FILE` wrote a file before --json became doctor's and sources' flag: a one-line pointer, not
    click's "unexpected extra argument"."""
    import v2a_cli.loaders

    monkeypatch.setattr(v2a_cli.loaders, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    out = tmp_path / "scores.json"
    for args in ([str(folders / "gen"), "--refs", str(folders / "refs"), "--json", str(out)],
                 ["--json", str(out)]):
        assert run_cli("eval", *args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"--save-json {out}" in err, err
    assert not out.exists()


def test_unknown_metric_or_suite_is_a_wrong_command_line_of_one_line(folders, capsys):
    assert run_cli("eval", str(folders / "gen"), "--refs", str(folders / "refs"), "--metrics", "fd,bleu") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --metrics") and len(err.splitlines()) == 1
    assert run_cli("eval", str(folders / "gen"), "--refs", str(folders / "refs"), "--suite", "mmaudio") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --suite") and "av-benchmark" in err and len(err.splitlines()) == 1


def test_only_paired_metrics_and_no_names_in_common_exit_1_before_any_model(tmp_path, capsys, monkeypatch):
    import v2a_cli.loaders

    monkeypatch.setattr(v2a_cli.loaders, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))
    make_wav(tmp_path / "gen" / "dog.wav", seconds=1.0)
    make_wav(tmp_path / "refs" / "cat.wav", seconds=1.0)
    code = run_cli("eval", str(tmp_path / "gen"), "--refs", str(tmp_path / "refs"), "--metrics", "kl")
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "no generated file has a reference with the same name" in err


def test_references_named_differently_give_fd_and_fad_and_one_note_for_kl(tmp_path, zoo_models_toml, capsys):
    for i in range(3):
        make_wav(tmp_path / "gen" / f"dog{i}.wav", seconds=1.0, frequency=300 + 90 * i)
        make_wav(tmp_path / "refs" / f"cat{i}.wav", seconds=1.0, frequency=320 + 70 * i)
    out = tmp_path / "scores.json"
    code = run_cli("--models", str(zoo_models_toml), "--quiet", "eval", str(tmp_path / "gen"), "--refs",
                   str(tmp_path / "refs"), "--metrics", "fd,fad,kl", "--save-json", str(out), "--device", "cpu")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == {"fd", "fad"}
    assert "same name" in report["skipped"]["kl"]
    assert [line for line in captured.err.splitlines() if line.startswith("kl:")] == \
        [f"kl: not computed ({report['skipped']['kl']})"]


def test_non_audio_files_in_eval_folders_are_listed_with_reasons_and_exit_1(tmp_path, zoo_models_toml, capsys):
    for i in range(2):
        make_wav(tmp_path / "gen" / f"clip{i}.wav", seconds=1.0, frequency=300 + 100 * i)
        make_wav(tmp_path / "refs" / f"clip{i}.wav", seconds=1.0, frequency=320 + 100 * i)
    (tmp_path / "gen" / "notes.txt").write_text("what I generated")
    make_image(tmp_path / "gen" / "cover.png")
    (tmp_path / "gen" / "._clip0.wav").write_bytes(b"macOS fork")  # hidden: not looked at
    code = run_cli("--models", str(zoo_models_toml), "--quiet", "eval", str(tmp_path / "gen"), "--refs",
                   str(tmp_path / "refs"), "--metrics", "kl,is", "--device", "cpu")
    captured = capsys.readouterr()
    assert code == 1, captured.err
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped: ")]
    assert [line.split(":")[1].strip().rsplit("/", 1)[-1] for line in skipped] == ["cover.png", "notes.txt"]
    assert all("not one of the generated sounds" in line for line in skipped)
    assert "KL softmax" in captured.out  # the scores over the sound files are still shown
