"""`v2a train` end to end: from --pairs, and from --data (extraction first) with the tiny CLIP/CLAP."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from v2a_cli.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_train_from_pairs_prints_a_mapper_that_loads(tmp_path, capsys):
    from safetensors.torch import save_file

    from v2a_cli.mapper import load_mapper

    g = torch.Generator().manual_seed(0)
    clip = F.normalize(torch.randn(64, 512, generator=g), dim=-1)
    save_file({"clip": clip, "clap": clip.flip(-1).contiguous()}, str(tmp_path / "pairs.safetensors"))
    args = ["train", "--pairs", str(tmp_path / "pairs.safetensors"), "--out", str(tmp_path / "run"), "--kind",
            "diffusion", "--arch", "transformer", "--depth", "1", "--heads", "2", "--dim-head", "16", "--ff-mult", "1",
            "--epochs", "2", "--train-batch-size", "32", "--stored-mapper-guidance", "1.5", "--device", "cpu"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert out.strip() == str(tmp_path / "run" / "mapper")
    assert "epoch 2/2" in err and "cos" in err  # progress with val loss / cosine on stderr
    mapper = load_mapper(out.strip())
    assert mapper.is_generative and mapper.guidance == 1.5
    assert json.loads((tmp_path / "run/mapper/config.json").read_text())["training"]["lr"] == 1.1e-4

    code, _, err = run_cli(args, capsys)  # same --out again without --resume
    assert code == 1 and "pass --resume" in err and len(err.strip().splitlines()) == 1


def test_missing_pairs_file_is_one_line(tmp_path, capsys):
    code, out, err = run_cli(["train", "--pairs", str(tmp_path / "nope.safetensors"), "--out", str(tmp_path / "r"),
                              "--device", "cpu"], capsys)
    assert code == 1 and out == ""
    assert "nope.safetensors" in err and len(err.strip().splitlines()) == 1


def test_train_from_a_video_folder_extracts_first(tmp_path, extract_models, extract_videos, extract_split_csv):
    from v2a_cli.mapper import load_mapper
    from v2a_cli.training.train import TrainConfig, train_mapper

    models_toml = tmp_path / "models.toml"
    models_toml.write_text(f'[models]\nclip = "{extract_models.clip}"\nclap = "{extract_models.clap}"\n'
                           f'generator = "{extract_models.generator}"\n')
    config = TrainConfig(out=tmp_path / "run", data=extract_videos, split_csv=extract_split_csv, kind="regression",
                         arch="mlp", expansion=1, epochs=2, batch_size=4, device="cpu", models=str(models_toml),
                         extract_options={"workers": 0, "shard_size": 2, "batch_size": 4})
    updates = []
    mapper_dir = train_mapper(config, progress=updates.append)
    assert (tmp_path / "run/embeddings").is_dir()
    # What extraction kept and skipped, with reasons, before training starts.
    notes = [update.note for update in updates if update.phase == "data"]
    assert len(notes) == 1 and notes[0].startswith("4 clips kept, 4 skipped: ")
    assert "silent_000005.mp4: no audio track" in notes[0]
    info = json.loads((mapper_dir / "config.json").read_text())["training"]["data"]
    # The CSV's 3 train clips that decode: one held out for validation; its test clip is never read.
    assert (info["n_train"], info["n_val"]) == (2, 1)
    mapper = load_mapper(str(mapper_dir))
    assert mapper.map(torch.randn(2, mapper.config.dim)).shape == (2, mapper.config.dim)


def test_train_data_where_no_clip_is_usable_says_why_in_one_line_without_a_blank_line(tmp_path, capsys,
                                                                                      extract_models_toml):
    from v2a_cli.testing.media import make_video

    data = tmp_path / "videos"
    make_video(data / "bikes_noaudio.mp4", seconds=1.0, with_audio=False)
    (data / "junk.mp4").write_text("not a video")
    code, out, err = run_cli(["--models", str(extract_models_toml), "train", "--data", str(data), "--out",
                              str(tmp_path / "run"), "--kind", "regression", "--arch", "mlp", "--device", "cpu"],
                             capsys)
    assert code == 1 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, repr(err)
    assert "no usable clips, 0 clips kept, 2 skipped: bikes_noaudio.mp4: no audio track; junk.mp4: " in err


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(tmp_path, capsys, monkeypatch):
    """safetensors wraps ENOSPC into its own SafetensorError (not an OSError): still one line, exit 1,
    no half-written checkpoint folder."""
    import safetensors.torch
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)
    clip = F.normalize(torch.randn(16, 512, generator=g), dim=-1)
    save_file({"clip": clip, "clap": clip.flip(-1).contiguous()}, str(tmp_path / "pairs.safetensors"))

    def disk_full(tensors, filename, metadata=None):
        raise SafetensorError('Error while serializing: I/O error: No space left on device (os error 28) '
                              f'at path "{filename}"')

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    code, out, err = run_cli(["--quiet", "train", "--pairs", str(tmp_path / "pairs.safetensors"), "--out",
                              str(tmp_path / "run"), "--kind", "regression", "--arch", "mlp", "--expansion", "1",
                              "--epochs", "1", "--train-batch-size", "8", "--device", "cpu"], capsys)
    assert code == 1 and out == "" and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no space left on the disk; free some space or choose another disk" in lines[0]
    leftovers = [path.name for path in (tmp_path / "run").rglob("*") if path.name.startswith(".")]
    assert leftovers == []
