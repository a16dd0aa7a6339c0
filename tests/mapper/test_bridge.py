"""The zero-shot text bridge: the mixing maths on fixed tensors, the vocabulary data, the on-disk cache."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch
import torch.nn.functional as F

from v2a_cli.errors import V2AError
from v2a_cli.models_config import ModelsConfig
from v2a_cli.mapper import bridge
from v2a_cli.mapper.bridge import TextBridgeMapper, build_bridge, combined_vocabulary, read_vocabulary
from v2a_cli.mapper.protocol import MapperSampling

NAMES = ["dog", "cat", "rain", "car"]
# CLIP text embeddings: the standard basis of R^4, so cosines are the (normalised) image coordinates.
CLIP_TEXT = torch.eye(4)
CLAP_TEXT = F.normalize(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [3.0, 0.0, 1.0], [1.0, 1.0, 1.0]]), dim=-1)


def make_bridge(top_k: int = 2, temperature: float = 0.5) -> TextBridgeMapper:
    return TextBridgeMapper(NAMES, CLIP_TEXT, CLAP_TEXT, top_k=top_k, temperature=temperature)


def test_top_k_selection_and_weights_sum_to_one():
    image = torch.tensor([[0.1, 0.6, 0.3, 0.8]])
    picked = make_bridge(top_k=2).explain(image)[0]
    assert [name for name, _ in picked] == ["car", "cat"]
    assert sum(weight for _, weight in picked) == pytest.approx(1.0)
    assert picked[0][1] > picked[1][1]


def test_output_is_the_normalised_weighted_sum_computed_by_hand():
    image = torch.tensor([[0.0, 3.0, 0.0, 4.0]])  # normalised: cos(cat) = 0.6, cos(car) = 0.8
    temperature = 0.5
    w_car = math.exp(0.8 / temperature) / (math.exp(0.8 / temperature) + math.exp(0.6 / temperature))
    expected = F.normalize(w_car * CLAP_TEXT[3] + (1 - w_car) * CLAP_TEXT[1], dim=-1)

    mapped = make_bridge(top_k=2, temperature=temperature).map(image)

    assert mapped.shape == (1, 3)
    torch.testing.assert_close(mapped[0], expected)
    assert mapped.norm(dim=-1).item() == pytest.approx(1.0)


@pytest.mark.parametrize("temperature", [0.0, 1e-4])
def test_temperature_to_zero_gives_the_top_class_clap_embedding_exactly(temperature):
    image = torch.tensor([[0.5, 0.1, 0.45, 0.0]])
    mapped = make_bridge(top_k=3, temperature=temperature).map(image)
    torch.testing.assert_close(mapped[0], CLAP_TEXT[0], rtol=0, atol=1e-7)  # exact up to float rounding


def test_an_image_equal_to_a_class_text_embedding_picks_that_class_first():
    generator = torch.Generator().manual_seed(0)
    clip_text = F.normalize(torch.randn(20, 16, generator=generator), dim=-1)
    clap_text = F.normalize(torch.randn(20, 8, generator=generator), dim=-1)
    names = [f"class {i}" for i in range(20)]
    mapper = TextBridgeMapper(names, clip_text, clap_text, top_k=5)
    picked = mapper.explain(clip_text[[7, 13]])
    assert [row[0][0] for row in picked] == ["class 7", "class 13"]


def test_batch_rows_are_mapped_independently_and_seed_is_ignored():
    images = torch.tensor([[0.1, 0.6, 0.3, 0.8], [0.9, 0.0, 0.2, 0.1]])
    mapper = make_bridge()
    together = mapper.map(images, seeds=[1, 1], sampling=MapperSampling(guidance=3.0, steps=2))
    torch.testing.assert_close(together[1], mapper.map(images[1:], seeds=[2])[0])
    assert mapper.is_generative is False


def test_top_k_larger_than_the_vocabulary_uses_all_classes():
    picked = make_bridge(top_k=50, temperature=1.0).explain(torch.ones(1, 4))[0]
    assert len(picked) == 4


@pytest.mark.parametrize("options", [{"top_k": 0}, {"temperature": -0.1}])
def test_bad_options_are_user_errors(options):
    with pytest.raises(V2AError):
        TextBridgeMapper(NAMES, CLIP_TEXT, CLAP_TEXT, **options)


def test_packaged_vocabularies_have_the_published_class_counts():
    audioset, vggsound = read_vocabulary("audioset"), read_vocabulary("vggsound")
    assert (len(audioset), len(vggsound)) == (527, 309)
    assert audioset[0] == "Speech" and audioset[-1] == "Field recording"
    assert "dog barking" in vggsound
    assert len(set(audioset)) == 527 and len(set(vggsound)) == 309


def test_combined_vocabulary_drops_names_that_differ_only_in_case_or_punctuation():
    combined = combined_vocabulary(["audioset", "vggsound"])
    assert combined[:527] == read_vocabulary("audioset")
    assert "Police car (siren)" in combined and "police car (siren)" not in combined
    assert "dog barking" in combined
    assert len(combined) < 527 + 309


def test_unknown_vocabulary_is_a_user_error():
    with pytest.raises(V2AError, match="vocabulary"):
        read_vocabulary("esc50")


class HashedTextEncoder:
    """A deterministic text -> vector function with the encoders' `encode_texts` contract, counting calls.

    Only for the cache bookkeeping below (loaded-encoder injection); the zoo tests run the real encoders.
    """

    def __init__(self, dim: int):
        self.dim = dim
        self.texts_encoded = 0

    def encode_texts(self, texts):
        self.texts_encoded += len(texts)
        rows = [torch.Generator().manual_seed(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)) for t in texts]
        return F.normalize(torch.stack([torch.randn(self.dim, generator=g) for g in rows]), dim=-1)


def test_vocabulary_embeddings_are_cached_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "clip"
    weights.mkdir()
    models = ModelsConfig(clip=str(weights), generator=str(weights))
    clip, clap = HashedTextEncoder(16), HashedTextEncoder(8)

    first = build_bridge(models, vocabulary=("vggsound",), clip_encoder=clip, clap_text_encoder=clap, top_k=3)
    assert (clip.texts_encoded, clap.texts_encoded) == (309 * len(bridge.CLIP_TEMPLATES), 309 * len(bridge.CLAP_TEMPLATES))
    assert len(list((tmp_path / "cache" / "bridge").glob("*.safetensors"))) == 1
    assert not list((tmp_path / "cache" / "bridge").glob("*.part"))

    second = build_bridge(models, vocabulary=("vggsound",), clip_encoder=clip, clap_text_encoder=clap, top_k=3)
    assert clip.texts_encoded == 309 * len(bridge.CLIP_TEMPLATES)  # nothing encoded the second time
    assert torch.equal(second.clip_text, first.clip_text) and torch.equal(second.clap_text, first.clap_text)
    assert second.top_k == 3

    (weights / "open_clip_model.safetensors").write_bytes(b"new weights")  # the model changed: rebuild
    build_bridge(models, vocabulary=("vggsound",), clip_encoder=clip, clap_text_encoder=clap)
    assert clip.texts_encoded == 2 * 309 * len(bridge.CLIP_TEMPLATES)


def test_build_bridge_loads_the_tiny_clip_through_the_registry(tmp_path, monkeypatch):
    from v2a_cli.testing import zoo_clip
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    models = ModelsConfig(clip=str(zoo_clip.build_clip(tmp_path / "clip")), generator=str(tmp_path / "clip"))

    mapper = build_bridge(models, vocabulary=("vggsound",), clap_text_encoder=HashedTextEncoder(8))

    image = mapper.clip_text[[42]]  # exactly a class's CLIP text embedding
    assert mapper.explain(image)[0][0][0] == mapper.class_names[42]
    assert mapper.map(image).shape == (1, 8)


class CountingEncoder:
    """Wraps a loaded text encoder and counts the texts it was asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.texts_encoded = 0

    def encode_texts(self, texts):
        self.texts_encoded += len(texts)
        return self.inner.encode_texts(texts)


@pytest.fixture(scope="module")
def tiny_encoders(zoo_models):
    """The zoo's CLIP and generator (whose text encoder is the zoo CLAP's text tower), loaded once."""
    from v2a_cli.loaders import load_model

    clip = load_model("clip", zoo_models.clip, device="cpu", dtype=torch.float32)
    generator = load_model("generator", zoo_models.generator, device="cpu", dtype=torch.float32)
    return clip, generator


def test_build_bridge_end_to_end_writes_the_cache_and_reuses_it(zoo_models, tiny_encoders, tmp_path, monkeypatch):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    clip, generator = CountingEncoder(tiny_encoders[0]), CountingEncoder(tiny_encoders[1])

    first = build_bridge(zoo_models, vocabulary=("vggsound",), clip_encoder=clip, clap_text_encoder=generator)
    cache_files = list((tmp_path / "cache" / "bridge").glob("*.safetensors"))
    assert len(cache_files) == 1
    assert clip.texts_encoded == 309 * len(bridge.CLIP_TEMPLATES)
    assert generator.texts_encoded == 309 * len(bridge.CLAP_TEMPLATES)

    second = build_bridge(zoo_models, vocabulary=("vggsound",), clip_encoder=clip, clap_text_encoder=generator)
    assert clip.texts_encoded == 309 * len(bridge.CLIP_TEMPLATES)  # nothing encoded again
    torch.testing.assert_close(second.clap_text, first.clap_text)
    torch.testing.assert_close(second.clip_text, first.clip_text)

    images = clip.inner.encode_images([_tiny_image()])
    mapped = second.map(images)
    assert mapped.shape == (1, first.clap_text.shape[1])
    _assert_in_span(mapped[0], first.clap_text[[row for row, _ in _picked_rows(second, images)]])


def test_build_bridge_loads_the_models_itself_only_when_the_cache_misses(zoo_models, tmp_path, monkeypatch):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    for source in list(bridge.CLAP_TEXT_SOURCES):
        loader = bridge.CLAP_TEXT_SOURCES[source]
        monkeypatch.setitem(bridge.CLAP_TEXT_SOURCES, source,
                            lambda models, device, loader=loader, source=source: calls.append(source) or loader(models, device))

    mapper = build_bridge(zoo_models, vocabulary=("vggsound",), clap_text_source="clap")
    assert calls == ["clap"] and len(mapper.class_names) == 309
    build_bridge(zoo_models, vocabulary=("vggsound",), clap_text_source="clap")
    assert calls == ["clap"]


def test_cache_key_changes_when_a_weights_file_changes(tmp_path):
    from dataclasses import replace

    weights = tmp_path / "weights.ckpt"
    weights.write_bytes(b"1234")
    models = replace(ModelsConfig(), clip=str(tmp_path), generator=str(tmp_path), clap=str(weights))
    names = ["dog barking"]
    before = bridge.bridge_cache_path(models, names, "clap")
    assert bridge.bridge_cache_path(models, names, "clap") == before
    weights.write_bytes(b"12345")
    assert bridge.bridge_cache_path(models, names, "clap") != before
    assert bridge.bridge_cache_path(models, names, "generator") != bridge.bridge_cache_path(models, names, "clap")


def test_a_corrupt_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    (tmp_path / "weights").mkdir()
    models = ModelsConfig(clip=str(tmp_path / "weights"), generator=str(tmp_path / "weights"))
    names = combined_vocabulary(["vggsound"])
    path = bridge.bridge_cache_path(models, names, "generator")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a safetensors file")
    clip = HashedTextEncoder(16)

    mapper = build_bridge(models, vocabulary=("vggsound",), clip_encoder=clip, clap_text_encoder=HashedTextEncoder(8))
    assert clip.texts_encoded > 0 and len(mapper.class_names) == 309
    assert bridge._read_cache(bridge.bridge_cache_path(models, names, "generator"), names) is not None


def _tiny_image():
    from PIL import Image

    return Image.new("RGB", (40, 30), (200, 120, 40))


def _picked_rows(mapper: TextBridgeMapper, images: torch.Tensor) -> list[tuple[int, float]]:
    names = mapper.explain(images)[0]
    return [(mapper.class_names.index(name), weight) for name, weight in names]


def _assert_in_span(vector: torch.Tensor, basis: torch.Tensor) -> None:
    """`vector` is a combination of `basis` rows (least-squares residual ~ 0)."""
    solution = torch.linalg.lstsq(basis.T.double(), vector.double().unsqueeze(-1)).solution
    residual = basis.T.double() @ solution - vector.double().unsqueeze(-1)
    assert residual.norm().item() < 1e-5
