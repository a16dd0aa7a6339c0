"""Renamed flags (`renamed_option` in cli/app.py): the old name is hidden from --help but still works, with one
note naming the new flag; old and new together with different values is a wrong command line. The library
call is replaced by one that records what it was given and stops, so no model runs."""

from __future__ import annotations

import pytest

from v2a_cli.errors import V2AError

# command -> the new name of its --batch-size
RENAMED = {
    "extract": "--embed-batch-size",
    "eval": "--eval-batch-size",
    "train": "--train-batch-size",
}


@pytest.fixture
def given(monkeypatch):
    """The batch size each library entry point received (it then stops the command: exit 1)."""
    import v2a_cli.evaluation.evaluator
    import v2a_cli.training.extract
    import v2a_cli.training.train

    received: list[int] = []

    def stop(batch_size: int) -> None:
        received.append(batch_size)
        raise V2AError("stopped by the test")

    monkeypatch.setattr(v2a_cli.training.extract, "extract_folder", lambda *a, batch_size, **k: stop(batch_size))
    monkeypatch.setattr(v2a_cli.evaluation.evaluator, "evaluate", lambda *a, batch_size, **k: stop(batch_size))
    monkeypatch.setattr(v2a_cli.training.train, "train_mapper", lambda config, **k: stop(config.batch_size))
    return received


def command_line(command: str, tmp_path) -> list[str]:
    (tmp_path / "videos").mkdir()
    (tmp_path / "gen").mkdir()
    return {
        "extract": ["extract", "--data", tmp_path / "videos", "--out", tmp_path / "cache"],
        "eval": ["eval", tmp_path / "gen", "--metrics", "is"],
        "train": ["train", "--pairs", tmp_path / "pairs.safetensors", "--out", tmp_path / "run"],
    }[command]


@pytest.mark.parametrize("command", sorted(RENAMED))
def test_the_old_batch_size_flag_still_works_with_one_note_naming_the_new_one(command, v2a, given, tmp_path):
    code, _, err = v2a(*command_line(command, tmp_path), "--batch-size", "3")
    assert code == 1 and "stopped by the test" in err
    assert given == [3]
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and RENAMED[command] in notes[0] and "--batch-size" in notes[0], err


@pytest.mark.parametrize("command", sorted(RENAMED))
def test_the_new_batch_size_flag_is_used_without_a_note(command, v2a, given, tmp_path):
    code, _, err = v2a(*command_line(command, tmp_path), RENAMED[command], "5")
    assert code == 1 and given == [5]
    assert "note:" not in err


def test_old_and_new_names_with_different_values_are_a_wrong_command_line(v2a, given, tmp_path):
    code, _, err = v2a(*command_line("train", tmp_path), "--batch-size", "8", "--train-batch-size", "16")
    assert code == 2 and given == []
    assert len(err.strip().splitlines()) == 1
    assert "--batch-size 8 and --train-batch-size 16" in err


def test_old_and_new_names_with_the_same_value_are_accepted(v2a, given, tmp_path):
    code, _, _ = v2a(*command_line("eval", tmp_path), "--batch-size", "8", "--eval-batch-size", "8")
    assert code == 1 and given == [8]


def test_a_bad_value_under_the_old_name_fails_like_under_the_new_one(v2a, given, tmp_path):
    code, _, err = v2a(*command_line("extract", tmp_path), "--batch-size", "0")
    assert code == 2 and given == []
    assert err.startswith("error: --batch-size 0:") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", sorted(RENAMED))
def test_help_lists_the_new_flag_and_not_the_old_one(command, v2a):
    code, out, _ = v2a(command, "--help")
    assert code == 0
    assert RENAMED[command] in out
    assert "--batch-size" not in out.replace(RENAMED[command], "")
