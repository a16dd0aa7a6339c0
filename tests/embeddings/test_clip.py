from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from v2a_cli.errors import CheckpointError, ModelUnavailableError
from v2a_cli.loaders import load_model


def sample_images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    wide = Image.fromarray(rng.integers(0, 256, (120, 300, 3), dtype=np.uint8))
    tall = Image.fromarray(rng.integers(0, 256, (333, 90, 3), dtype=np.uint8))
    rgba = Image.fromarray(rng.integers(0, 256, (64, 64, 4), dtype=np.uint8), mode="RGBA")
    small_gray = Image.fromarray(rng.integers(0, 256, (20, 50), dtype=np.uint8), mode="L")
    return [wide, tall, rgba, small_gray]


@pytest.fixture(scope="module")
def clip(tiny_clip_dir):
    return load_model("clip", str(tiny_clip_dir))


def test_preprocess_is_open_clips_eval_transform(clip, tiny_clip_dir):
    import open_clip
    from open_clip.transform import image_transform

    _, _, their_eval = open_clip.create_model_and_transforms(f"local-dir:{tiny_clip_dir}")
    # Built independently from open_clip's OpenAI constants: the zoo's preprocess_cfg is ViT-B-32/openai's.
    reference = image_transform(224, is_train=False, mean=open_clip.OPENAI_DATASET_MEAN, std=open_clip.OPENAI_DATASET_STD)
    for image in sample_images():
        ours = clip.preprocess(image)
        assert ours.shape == (3, 224, 224)
        assert torch.equal(ours, their_eval(image))
        assert torch.equal(ours, reference(image))


def test_uint8_pixels_from_workers_give_open_clips_embeddings(clip, tiny_clip_dir):
    """Extraction workers run the PIL half of the transform (uint8 out); `encode_pixels` does ToTensor +
    Normalize on the device. Together: the embeddings of open_clip's own preprocess, bit for bit."""
    import pickle

    import open_clip
    import torch.nn.functional as F

    from v2a_cli.embeddings.clip import image_to_uint8

    _, _, their_eval = open_clip.create_model_and_transforms(f"local-dir:{tiny_clip_dir}")
    transform = pickle.loads(pickle.dumps(clip.pixel_transform))  # it travels to worker processes
    pixels = torch.stack([torch.from_numpy(image_to_uint8(transform, image)) for image in sample_images()])
    assert pixels.dtype == torch.uint8 and pixels.shape == (4, 3, 224, 224)
    reference = torch.stack([their_eval(image) for image in sample_images()])
    torch.testing.assert_close(pixels.float().div(255), reference * clip.pixel_std[:, None, None]
                               + clip.pixel_mean[:, None, None], atol=1e-6, rtol=0)
    with torch.inference_mode():
        expected = F.normalize(clip.model.encode_image(reference).float(), dim=-1)
    assert torch.equal(clip.encode_pixels(pixels), expected)
    assert torch.equal(clip.encode_images(sample_images()), expected)


def test_loads_the_zoo_weights_through_the_registry(clip, tiny_clip_dir):
    from safetensors.torch import load_file

    stored = load_file(str(tiny_clip_dir / "open_clip_model.safetensors"))
    state = clip.model.state_dict()
    assert set(stored) == set(state)
    assert all(torch.equal(stored[name], state[name]) for name in stored)
    assert clip.embed_dim == 512


def test_embeddings_are_normalised_float32_cpu_and_batch_independent(clip):
    images = sample_images()
    together = clip.encode_images(images)
    one_by_one = clip.encode_images(images, batch_size=1)
    assert together.shape == (4, 512) and together.dtype == torch.float32 and together.device.type == "cpu"
    assert torch.allclose(together.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert torch.allclose(together, one_by_one, atol=1e-5)
    texts = clip.encode_texts(["a dog barking", "rain on a roof", "a dog barking"])
    assert texts.shape == (3, 512) and texts.dtype == torch.float32
    assert torch.allclose(texts.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(texts[0], texts[2])
    assert clip.encode_images([]).shape == (0, 512)


def test_build_clip_is_deterministic(tiny_clip_dir, tmp_path):
    from safetensors.torch import load_file

    from v2a_cli.testing.zoo_clip import build_clip

    again = load_file(str(build_clip(tmp_path / "again") / "open_clip_model.safetensors"))
    first = load_file(str(tiny_clip_dir / "open_clip_model.safetensors"))
    assert all(torch.equal(first[name], again[name]) for name in first)


def test_missing_folder_and_offline_hub_id_are_model_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="no-such-clip"):
        load_model("clip", str(tmp_path / "no-such-clip"))
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        load_model("clip", "hf-hub:nobody-v2a-test/no-such-clip")


def test_folder_without_weights_is_a_checkpoint_error(tiny_clip_dir, tmp_path):
    (tmp_path / "open_clip_config.json").write_text((tiny_clip_dir / "open_clip_config.json").read_text())
    with pytest.raises(CheckpointError, match="open_clip_model.safetensors"):
        load_model("clip", str(tmp_path))


def test_truncated_weights_are_a_checkpoint_error(tiny_clip_dir, tmp_path):
    (tmp_path / "open_clip_config.json").write_text((tiny_clip_dir / "open_clip_config.json").read_text())
    data = (tiny_clip_dir / "open_clip_model.safetensors").read_bytes()
    (tmp_path / "open_clip_model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot build the CLIP model"):
        load_model("clip", str(tmp_path))
