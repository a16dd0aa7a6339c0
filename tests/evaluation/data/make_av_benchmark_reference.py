"""Regenerate av_benchmark_reference.npz: ImageBind and Synchformer outputs, IB-score and DeSync as
av-benchmark's own code computes them, on the tiny zoo's weights.

Not a test and not run by CI. The originals are git repositories (no packages), run offline from
checkouts; a throwaway folder of pure-Python dependencies is put in front of v2a's venv:

    git clone https://github.com/hkchengrex/av-benchmark SRC/av-benchmark            # 050a5cd
    git clone https://github.com/hkchengrex/ImageBind SRC/ImageBind                   # 9989650 (av-benchmark's pin)
    git clone https://github.com/facebookresearch/pytorchvideo SRC/pytorchvideo \\
        && git -C SRC/pytorchvideo checkout ae9cfc6e62ca49eb9721a7a56e1e13e348ad21dc  # ImageBind fork's pin
    pip install --no-deps --target DEPS einops omegaconf antlr4-python3-runtime==4.9.3 iopath portalocker colorlog \\
        torchaudio==2.11.1                       # compliance.kaldi and transforms only (pure Python parts)
    PYTHONPATH=<v2a checkout> <v2a venv>/bin/python make_av_benchmark_reference.py SRC DEPS

What runs is the originals' code: ImageBind's `ImageBindModel`; av-benchmark's `VideoDataset`
transforms and `SpatialCrop`, `ImageBindAudioDataset.load_and_transform_audio_data`,
`SynchformerAudioDataset.sample`, `encode_video_with_imagebind` / `encode_video_with_sync`
(extract_video.py), `encode_audio_with_sync` (av_bench/extract.py), its Synchformer, and its
`evaluate()` for the IB-score and DeSync. Shims, each only where the original cannot run here:
- widths: the original classes are built at the tiny zoo's widths (`v2a_cli.testing.zoo_av`), head
  counts unchanged; Synchformer's literal 768s (vproj/aproj, GlobalTransformer, its position
  embedding and head) are mapped to the zoo's width, as the wav2clip fixture maps channel counts;
- file reading: `torchaudio.load` returns the signals below (16 kHz) and torio is not imported (it left
  torchaudio in 2.9; av-benchmark's decoding is FFmpeg's `fps` filter, ours runs the same filter);
- device "cuda" -> "cpu", the weights file -> the zoo file; modules av-benchmark imports but these
  code paths never call (laion_clap, msclap, hear21passt, torchlibrosa, resampy) are empty stubs;
  transformers >= 5 lacks `find_pruneable_heads_and_indices` (used by AST's unused head pruning) and
  `PreTrainedModel.get_head_mask` (given back as transformers 4 had it: no mask, [None] per layer);
  ImageBind's package `__init__` (it imports data.py, which needs pkg_resources) is skipped.
The other metrics evaluate() computes from the same caches (FD, KL, IS) get random 8-d stand-ins and
are ignored. Frames are given as decoded uint8 arrays (the test feeds ours the same arrays).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

NAMES = ("a", "b", "c")
SYNC_SECONDS = 5.6  # 16 segments: the first and last 14 differ
SYNC_FPS = 25


def sync_frames() -> dict[str, np.ndarray]:
    """uint8 [140, H, W, 3] at 25 fps: moving bars over noise; b is portrait (the other crop branch)."""
    rng = np.random.default_rng(7)
    out = {}
    for index, (name, (height, width)) in enumerate(zip(NAMES, ((48, 64), (64, 48), (40, 72)))):
        t = np.arange(int(SYNC_SECONDS * SYNC_FPS))[:, None, None]
        x = np.arange(width)[None, None, :]
        y = np.arange(height)[None, :, None]
        bars = 127 + 100 * np.sin(2 * np.pi * (x / (9 + index) - t / 12.0) + y / 17.0)
        frames = np.stack([bars, np.roll(bars, 3 * index + 1, axis=2), bars[:, ::-1, :]], axis=-1)
        frames = frames + rng.normal(0, 12, frames.shape)
        out[name] = np.clip(frames, 0, 255).astype(np.uint8)
    return out


def imagebind_frames() -> dict[str, np.ndarray]:
    """Frames 2 s apart (0.5 fps), three per video: two ImageBind clips each."""
    return {name: frames[::50][:3] for name, frames in sync_frames().items()}


def imagebind_waveforms() -> dict[str, np.ndarray]:
    """16 kHz: 8 s (clips at 0, 3, 6 s), 3.5 s (overlapping clips), 1.2 s (under one clip)."""
    rng = np.random.default_rng(11)
    out = {}
    for name, seconds, freq in zip(NAMES, (8.0, 3.5, 1.2), (220.0, 880.0, 3000.0)):
        t = np.arange(int(seconds * 16000)) / 16000
        out[name] = (0.3 * np.sin(2 * np.pi * freq * t) * (1 + np.sin(2 * np.pi * 0.7 * t))
                     + 0.05 * rng.standard_normal(t.shape) + 0.01).astype(np.float32)  # DC offset too
    return out


def sync_waveforms() -> dict[str, np.ndarray]:
    """16 kHz: c is a shifted by 0.6 s; b longer than needed (cut to 5.6 s)."""
    rng = np.random.default_rng(13)
    t = np.arange(int(7 * 16000)) / 16000
    clicks = np.zeros_like(t)
    clicks[::8000] = 1.0
    a = (np.convolve(clicks, np.exp(-np.arange(800) / 80.0))[:t.size] * np.sin(2 * np.pi * 1000 * t)
         + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    samples = int(SYNC_SECONDS * 16000)
    return {"a": a[:samples], "b": (0.2 * rng.standard_normal(6 * 16000)).astype(np.float32),
            "c": a[int(0.6 * 16000):int(0.6 * 16000) + samples]}


def _stub(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []
    module.__dict__.update(attributes)
    sys.modules[name] = module
    return module


def _load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(src: str, deps: str) -> None:
    src_dir = Path(src)
    sys.path[:0] = [deps, str(src_dir / "av-benchmark"), str(src_dir / "ImageBind")]
    import torch
    from torch import nn

    from v2a_cli.evaluation.checkpoints import _read_pth
    from v2a_cli.testing import zoo_av

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        ib_state = _read_pth(zoo_av.build_imagebind(Path(tmp) / "imagebind_huge.pth"), kind="imagebind", subkey=None)
        sync_path = Path(tmp) / "synchformer_state_dict.pth"
        zoo_av.build_synchformer(sync_path)
        sync_state = _read_pth(sync_path, kind="synchformer", subkey=None)
        arrays = _run(src_dir, torch, nn, zoo_av, ib_state, sync_state, sync_path, Path(tmp))
    out = Path(__file__).with_name("av_benchmark_reference.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {sorted(arrays)}")


def _run(src_dir, torch, nn, zoo_av, ib_state, sync_state, sync_path, tmp):
    # --- shims (see the docstring) ------------------------------------------------------------------
    pv = src_dir / "pytorchvideo" / "pytorchvideo"
    _stub("pytorchvideo").__path__ = [str(pv)]
    _stub("pytorchvideo.data").__path__ = [str(pv / "data")]
    ib_src = src_dir / "ImageBind" / "imagebind"
    _stub("imagebind").__path__ = [str(ib_src)]  # its __init__ imports data.py (pkg_resources, the BPE vocabulary)
    _stub("imagebind.models").__path__ = [str(ib_src / "models")]
    _stub("torio")
    _stub("torio.io", StreamingMediaDecoder=None)
    _stub("laion_clap", CLAP_Module=None)
    _stub("msclap", CLAP=None)
    _stub("hear21passt")
    _stub("hear21passt.base", get_basic_model=None)
    _stub("torchlibrosa")
    _stub("torchlibrosa.augmentation", SpecAugmentation=None)
    _stub("torchlibrosa.stft", LogmelFilterBank=None, Spectrogram=None)
    _stub("resampy")
    import transformers.pytorch_utils as hf_utils

    if not hasattr(hf_utils, "find_pruneable_heads_and_indices"):
        hf_utils.find_pruneable_heads_and_indices = None

    widths = zoo_av.SYNCHFORMER_WIDTHS
    dim = widths["dim"]

    from omegaconf import OmegaConf

    from av_bench.synchformer import ast as sf_ast
    from av_bench.synchformer.hf_src import modeling_ast

    if not hasattr(modeling_ast.ASTModel, "get_head_mask"):  # transformers < 5: [None] * layers without a mask
        modeling_ast.ASTModel.get_head_mask = lambda self, head_mask, layers: [None] * layers
    from av_bench.synchformer import motionformer, synchformer, transformer

    load_yaml = OmegaConf.load

    def tiny_yaml(path):
        cfg = load_yaml(path)
        cfg.VIT.EMBED_DIM, cfg.VIT.DEPTH = dim, widths["video_depth"]
        return cfg

    motionformer.OmegaConf = types.SimpleNamespace(load=tiny_yaml)
    ast_config = sf_ast.ASTConfig

    def tiny_ast_config():
        return ast_config(hidden_size=dim, num_hidden_layers=widths["audio_depth"], intermediate_size=widths["audio_hidden"])

    sf_ast.ASTConfig = tiny_ast_config

    class Linear(nn.Linear):
        def __init__(self, n_in, n_out, *args, **kwargs):
            super().__init__(dim if n_in == 768 else n_in, dim if n_out == 768 else n_out, *args, **kwargs)

    synchformer.nn = transformer.nn = types.SimpleNamespace(**{**vars(nn), "Linear": Linear})
    global_transformer = transformer.GlobalTransformer

    def tiny_global(**kwargs):
        return global_transformer(**{**kwargs, "n_embd": dim, "n_layer": widths["sync_depth"]})

    synchformer.GlobalTransformer = tiny_global
    positional = transformer.RandInitPositionalEncoding
    transformer.RandInitPositionalEncoding = lambda block_shape, n_embd: positional(block_shape, dim)

    import torchaudio

    signals: dict[str, torch.Tensor] = {}
    torchaudio.load = lambda path, *a, **k: (signals[str(path)].clone(), 16000)

    # --- the originals ------------------------------------------------------------------------------
    from imagebind.models import imagebind_model
    from imagebind.models.imagebind_model import ModalityType

    from av_bench import evaluate as av_evaluate
    from av_bench.data.audio_dataset import ImageBindAudioDataset, SynchformerAudioDataset
    from av_bench.data.video_dataset import VideoDataset

    extract_video = _load_file("av_extract_video", src_dir / "av-benchmark" / "extract_video.py")
    from av_bench import extract as av_extract

    iw = zoo_av.IMAGEBIND_WIDTHS
    imagebind = imagebind_model.ImageBindModel(
        out_embed_dim=iw["out_dim"], vision_embed_dim=iw["vision_dim"], vision_num_blocks=iw["vision_depth"],
        audio_embed_dim=iw["audio_dim"], audio_num_blocks=iw["audio_depth"],
        text_embed_dim=16, text_num_blocks=1, text_num_heads=2, depth_embed_dim=16, depth_num_blocks=1,
        depth_num_heads=2, thermal_embed_dim=16, thermal_num_blocks=1, thermal_num_heads=2,
        imu_embed_dim=16, imu_num_blocks=1, imu_num_heads=2)
    wanted = {k: v for k, v in ib_state.items() if ".vision." in k or ".audio." in k}
    status = imagebind.load_state_dict(wanted, strict=False)
    assert not status.unexpected_keys and not [k for k in status.missing_keys if ".vision." in k or ".audio." in k]
    imagebind.eval()

    sync_model = synchformer.Synchformer().eval()
    sync_model.load_state_dict(sync_state)
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, win_length=400, hop_length=160, n_fft=1024,
                                               n_mels=128)  # av_bench/extraction_models.py's settings

    arrays = {}
    video_dataset = VideoDataset([], duration_sec=SYNC_SECONDS)
    ib_video, ib_audio, sync_video, sync_audio = {}, {}, {}, {}
    with torch.inference_mode():
        for name, frames in imagebind_frames().items():
            chunk = video_dataset.ib_transform(torch.from_numpy(frames).permute(0, 3, 1, 2))
            chunk = torch.stack(video_dataset.crop([chunk]))
            ib_video[name] = extract_video.encode_video_with_imagebind(imagebind, chunk[None])[0]
        audio_dataset = ImageBindAudioDataset([])
        for name, wave in imagebind_waveforms().items():
            signals[name] = torch.from_numpy(wave)[None]
            clips = audio_dataset.load_and_transform_audio_data(name)
            arrays[f"ib_audio_input_{name}"] = clips[0][..., ::17].numpy()  # every 17th fbank frame: small file
            ib_audio[name] = imagebind({ModalityType.AUDIO: clips[None].squeeze(1)})[ModalityType.AUDIO][0]
        for name, frames in sync_frames().items():
            chunk = video_dataset.sync_transform(torch.from_numpy(frames).permute(0, 3, 1, 2))
            sync_video[name] = extract_video.encode_video_with_sync(sync_model, chunk[None])[0]
        sync_dataset = SynchformerAudioDataset([], duration=SYNC_SECONDS)
        for name, wave in sync_waveforms().items():
            signals[name] = torch.from_numpy(wave)[None]
            sync_dataset.datalist = [Path(name)]
            waveform, _ = sync_dataset.sample(0)
            sync_audio[name] = av_extract.encode_audio_with_sync(sync_model, waveform[None], mel)[0]
        for name in NAMES:
            v, a = sync_video[name][None], sync_audio[name][None]
            arrays[f"sync_logits_first_{name}"] = sync_model.compare_v_a(v[:, :14], a[:, :14])[0].numpy()
            arrays[f"sync_logits_last_{name}"] = sync_model.compare_v_a(v[:, -14:], a[:, -14:])[0].numpy()

    for name in NAMES:
        arrays[f"ib_video_{name}"] = ib_video[name].numpy()
        arrays[f"ib_audio_{name}"] = ib_audio[name].numpy()
        arrays[f"sync_video_{name}"] = sync_video[name].numpy()
        arrays[f"sync_audio_{name}"] = sync_audio[name].numpy()

    # evaluate(): IB-score and DeSync from caches as extract_video.py / extract.py write them.
    gt, pred = tmp / "gt", tmp / "pred"
    gt.mkdir()
    pred.mkdir()
    rng = torch.Generator().manual_seed(0)
    for folder in (gt, pred):
        torch.save({n: {"2048": torch.randn(8, generator=rng), "logits": torch.randn(8, generator=rng)} for n in NAMES},
                   folder / "pann_features.pth")
        torch.save({n: torch.randn(2, 8, generator=rng) for n in NAMES}, folder / "vggish_features.pth")
        torch.save({n: torch.randn(8, generator=rng) for n in NAMES}, folder / "passt_features_embed.pth")
        torch.save({n: torch.randn(8, generator=rng) for n in NAMES}, folder / "passt_logits.pth")
    torch.save(ib_video, gt / "imagebind_video.pth")
    torch.save(ib_audio, pred / "imagebind_audio.pth")
    torch.save(sync_video, gt / "synchformer_video.pth")
    torch.save(sync_audio, pred / "synchformer_audio.pth")
    av_evaluate.device = "cpu"
    av_evaluate._syncformer_ckpt_path = sync_path
    metrics = av_evaluate.evaluate(gt, pred, is_paired=True, num_samples=1, skip_clap=True)
    arrays["ib_score"] = np.float64(metrics["IB-Score"])
    arrays["desync"] = np.float64(metrics["DeSync"])
    arrays["offset_grid"] = synchformer.make_class_grid(-2, 2, 21).numpy()
    print({k: metrics[k] for k in ("IB-Score", "DeSync")})
    return arrays


if __name__ == "__main__":
    main(*sys.argv[1:3])
