"""`v2a sources`, `generate --sources detect --boxes` and `compose --detect` through the real CLI, on the zoo."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from v2a_cli.testing.media import make_image, make_video

FAST = ["--steps", "2", "--duration", "0.5"]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources-cli")
    return {"street": make_image(root / "street.png", size=(120, 80)),
            "video": make_video(root / "walk.mp4", seconds=1.0, fps=4, size=(64, 48), with_audio=False)}


def test_sources_json_weights_sum_to_one(v2a, media, tmp_path):
    code, out, err = v2a("sources", media["street"], "--json", "--detect-threshold", "0", "--max-sources", "3",
                         "--boxes", tmp_path / "b.png")
    assert code == 0, err
    found = json.loads(out)["sources"]
    assert found[0] == {"class": "whole image", "score": 1.0, "box": None, "weight": 0.5}
    assert 2 <= len(found) <= 4 and sum(s["weight"] for s in found) == pytest.approx(1.0, abs=1e-5)
    assert all(len(s["box"]) == 4 for s in found[1:])
    with Image.open(tmp_path / "b.png") as drawn:
        assert drawn.size == (120, 80)
    assert f"note: boxes drawn in {tmp_path / 'b.png'}" in err  # where the picture went, on stderr


def test_sources_table_and_no_box_note(v2a, media):
    code, out, err = v2a("sources", media["street"], "--detect-threshold", "0.999")
    assert code == 0 and "whole image" in out and "note: no sound source found" in err
    code, out, err = v2a("sources", media["video"], "--json", "--detect-threshold", "0", "--fps", "2")
    assert code == 0 and json.loads(out)["sources"][0]["box"] is None


def test_sources_bad_input_is_one_line(v2a, tmp_path):
    code, out, err = v2a("sources", tmp_path / "missing.png")
    assert code == 1 and "missing.png: no such file" in err and len(err.strip().splitlines()) == 1


def test_generate_detect_with_boxes_and_the_ssv2a_checkpoint(v2a, media, tmp_path, zoo_models_toml):
    ssv2a = zoo_models_toml.parent / "ssv2a"
    code, out, err = v2a("generate", media["street"], "-o", tmp_path / "s.wav", *FAST, "--sources", "detect",
                         "--detect-threshold", "0", "--max-sources", "2", "--boxes", tmp_path / "s.png",
                         "--mapper", ssv2a, "--var-samples", "2", "--cycle-its", "1", "--cycle-samples", "2")
    assert code == 0, err
    assert (tmp_path / "s.wav").is_file()
    with Image.open(tmp_path / "s.png") as drawn:
        assert drawn.size == (120, 80)


def test_an_ssv2a_run_records_its_guidance_and_where_it_came_from(v2a, media, tmp_path, zoo_models_toml):
    ssv2a = zoo_models_toml.parent / "ssv2a"
    cheap = [*FAST, "--mapper", ssv2a, "--var-samples", "2", "--cycle-its", "1", "--cycle-samples", "2", "--sidecar"]
    code, _, err = v2a("generate", media["street"], "-o", tmp_path / "a.wav", *cheap)
    assert code == 0, err
    record = json.loads((tmp_path / "a.wav.json").read_text())
    assert record["settings"]["guidance"] == 2.5 and record["settings_from"]["guidance"] == "mapper"
    assert record["settings_from"]["steps"] == "flag" and record["settings_from"]["scheduler"] == "preset"
    code, _, err = v2a("generate", media["street"], "-o", tmp_path / "b.wav", *cheap, "--guidance", "4")
    assert code == 0, err
    record = json.loads((tmp_path / "b.wav.json").read_text())
    assert record["settings"]["guidance"] == 4 and record["settings_from"]["guidance"] == "flag"


def test_boxes_needs_detect(v2a, media, tmp_path):
    code, _, err = v2a("generate", media["street"], "-o", tmp_path / "x.wav", *FAST, "--boxes", tmp_path / "x.png")
    assert code == 2 and "--sources detect" in err and not (tmp_path / "x.wav").exists()


def test_compose_detect(v2a, media, tmp_path):
    code, out, err = v2a("compose", "--image", media["street"], "--detect", "--detect-threshold", "0",
                         "--max-sources", "2", "--text", "rain", "-o", tmp_path / "scene.wav", *FAST)
    assert code == 0, err
    assert (tmp_path / "scene.wav").is_file()


def test_generate_boxes_for_several_inputs_is_a_folder(v2a, media, tmp_path):
    other = make_image(tmp_path / "park.png", size=(90, 70))
    code, out, err = v2a("generate", media["street"], other, "--out-dir", tmp_path / "out", *FAST,
                         "--sources", "detect", "--detect-threshold", "0", "--max-sources", "2",
                         "--boxes", tmp_path / "boxes")
    assert code == 0, err
    with Image.open(tmp_path / "boxes" / "street.png") as a, Image.open(tmp_path / "boxes" / "park.png") as b:
        assert a.size == (120, 80) and b.size == (90, 70)
    assert f"boxes of park.png drawn in {tmp_path / 'boxes' / 'park.png'}" in " ".join(err.split())


def test_the_sidecar_records_the_sources(v2a, media, tmp_path):
    code, out, err = v2a("generate", media["street"], "-o", tmp_path / "s.wav", *FAST, "--sources", "detect",
                         "--detect-threshold", "0", "--max-sources", "2", "--sidecar")
    assert code == 0, err
    code, listed, err = v2a("sources", media["street"], "--json", "--detect-threshold", "0", "--max-sources", "2")
    sidecar = json.loads((tmp_path / "s.wav.json").read_text())
    assert sidecar["sources"] == json.loads(listed)["sources"]
    code, out, err = v2a("generate", media["video"], "-o", tmp_path / "v.wav", *FAST, "--sources", "detect",
                         "--detect-threshold", "0", "--max-sources", "2", "--fps", "4", "--sidecar")
    assert code == 0, err
    windows = json.loads((tmp_path / "v.wav.json").read_text())["sources"]
    assert windows and all({"start", "end", "sources"} <= set(w) for w in windows)
    assert all(sum(s["weight"] for s in w["sources"]) == pytest.approx(1.0, abs=1e-5) for w in windows)
    code, out, err = v2a("generate", media["street"], "-o", tmp_path / "w.wav", *FAST, "--sidecar")
    assert json.loads((tmp_path / "w.wav.json").read_text())["sources"] is None
