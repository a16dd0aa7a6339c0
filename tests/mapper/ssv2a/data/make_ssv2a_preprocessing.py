"""Write the SSV2A preprocessing fixtures from SSV2A's original code (run by hand, never at test time).

    python tests/mapper/ssv2a/data/make_ssv2a_preprocessing.py SSV2A_CLONE OPENAI_CLIP_CLONE [OUT_DIR]

Needs clones (or `git archive`s) of https://github.com/wguo86/SSV2A (written with 7f01d5f) and
https://github.com/openai/CLIP (d05afc4), plus numpy, Pillow, torch and torchvision.

- Crops: SSV2A's `ssv2a/data/detect.py` `yolo_detect` runs unchanged on `picture.png` (made by
  `make_picture`), with a stand-in YOLO that "detects" `BOXES`; it writes each crop as SSV2A does (the
  box cut by PIL, resized bicubic to the picture's size, PNG). Each crop then goes through the PIL part
  of OpenAI CLIP's own `_transform(224)` (`clip/clip.py`: Resize bicubic, CenterCrop, RGB), which
  `clip_embed_images` applies before ToTensor/Normalize: `crop_<name>_clip_input.png` are the pixels
  CLIP receives.
- Frames: SSV2A's `ssv2a/data/utils.py` `extract_frames(size=(512, 512), frames=64)` (what
  `video_to_claps` calls) runs unchanged on stand-in videos of L frames (skvideo's `vread` replaced by an
  array whose frame k is a flat colour coding k); the written PNGs give the chosen frame indices and
  their size, for every L in `FRAME_COUNTS` (`frames.json`).

Imports that code makes for other work (ultralytics, audioldm, CLIP's model and tokenizer, ...) are
replaced by empty stand-ins, since none of it runs here.
"""

from __future__ import annotations

import json
import sys
import tempfile
import types
from pathlib import Path

PICTURE_SIZE = (90, 60)
# name -> box (x0, y0, x1, y1), fractional as a detector gives them: 3:1 wide, 1:3 tall
BOXES = {"wide": (12.4, 20.6, 72.4, 40.6), "tall": (40.5, 2.2, 53.9, 42.6)}
CLIP_PIXELS = 224  # ViT-L/14's input (and the tiny zoo CLIP's)
FRAMES = 64  # infer_v2a.py --frames
FRAME_SIZE = (512, 512)  # video_to_claps: batch_extract_frames(size=(512, 512))
# Decoded frames of a clip (SSV2A) or of a v2a window; includes the windows of the tests' 12 s video
FRAME_COUNTS = [1, 2, 5, 63, 64, 65, 72, 73, 100, 120, 173, 174, 181, 240, 250, 288, 300]


def make_picture():
    """A deterministic RGB test picture: smooth gradients plus a checker, so every shift shows."""
    import numpy as np
    from PIL import Image

    width, height = PICTURE_SIZE
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x * 255 // (width - 1)), (y * 255 // (height - 1)),
                       ((x // 3 + y // 3) % 2) * 200 + 20], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def install_stand_ins(videos: dict) -> None:
    def module(name, **attrs):
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod

    def unused(*_a, **_k):
        raise RuntimeError("not used by the fixtures")

    class Boxes:
        def __init__(self, box):
            import torch

            self.xyxy = torch.tensor([box], dtype=torch.float32)

    class Result:
        def __init__(self, box):
            self.boxes = Boxes(box)

    class YOLO:  # ultralytics' detector: "finds" BOXES in every picture, in order
        def __init__(self, *_a, **_k):
            pass

        def to(self, device):
            return self

        def predict(self, images, **_k):
            return [[Result(box) for box in BOXES.values()] for _ in images]

    module("ultralytics", YOLO=YOLO)
    module("ultralytics.models")
    module("ultralytics.models.sam", Predictor=unused)
    sys.modules["ultralytics"].models = sys.modules["ultralytics.models"]
    module("skvideo")
    module("skvideo.io", vread=lambda path: videos[str(path)], ffprobe=unused)
    sys.modules["skvideo"].io = sys.modules["skvideo.io"]
    for name in ("torchaudio", "soundfile", "textblob", "kneed", "audioldm", "audioldm.utils"):
        module(name)
    sys.modules["textblob"].TextBlob = unused
    sys.modules["kneed"].KneeLocator = unused
    sys.modules["audioldm"].get_metadata = unused
    sys.modules["audioldm.utils"].MyProgressBar = unused
    module("ssv2a.model.dalle2_prior", Dalle2Prior=unused)
    # OpenAI CLIP's package without its network and tokenizer: only clip/clip.py's _transform is used.
    module("clip.model", build_model=unused)
    module("clip.simple_tokenizer", SimpleTokenizer=lambda: None)


def flat_video(count: int):
    """[count, 4, 6, 3] uint8: frame k is one colour, (k % 256, k // 256, 7)."""
    import numpy as np

    video = np.zeros((count, 4, 6, 3), dtype=np.uint8)
    for k in range(count):
        video[k] = (k % 256, k // 256, 7)
    return video


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        print(__doc__)
        raise SystemExit(2)
    ssv2a, clip_clone = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    out = Path(argv[2]) if len(argv) > 2 else Path(__file__).parent / "preprocessing"
    out.mkdir(parents=True, exist_ok=True)
    videos: dict = {}
    install_stand_ins(videos)
    sys.path.insert(0, str(ssv2a))
    import importlib.util

    import numpy as np
    from PIL import Image

    spec = importlib.util.spec_from_file_location("clip", clip_clone / "clip" / "__init__.py",
                                                  submodule_search_locations=[str(clip_clone / "clip")])
    clip_package = importlib.util.module_from_spec(spec)
    sys.modules["clip"] = clip_package
    spec.loader.exec_module(clip_package)
    from clip.clip import _transform
    from ssv2a.data.detect import yolo_detect
    from ssv2a.data.utils import extract_frames

    record: dict = {"picture_size": list(PICTURE_SIZE), "boxes": {}, "clip_pixels": CLIP_PIXELS}
    pil_part = _transform(CLIP_PIXELS).transforms[:3]  # Resize, CenterCrop, RGB; then ToTensor, Normalize
    with tempfile.TemporaryDirectory() as tmp:
        picture = Path(tmp) / "picture.png"
        make_picture().save(picture, "PNG")
        make_picture().save(out / "picture.png", "PNG")
        segments = yolo_detect([str(picture)], detection_model="yolov8x-oi7.pt", crop=True,
                               save_dir=str(Path(tmp) / "crops"), device="cpu")[str(picture)]
        for (name, box), (crop_file, locality) in zip(BOXES.items(), segments):
            with Image.open(crop_file) as crop:
                crop.load()
            crop.save(out / f"crop_{name}.png", "PNG")
            pixels = crop
            for step in pil_part:
                pixels = step(pixels)
            pixels.save(out / f"crop_{name}_clip_input.png", "PNG")
            record["boxes"][name] = {"box": list(box), "locality": locality, "crop_size": list(crop.size)}

        indices: dict[str, list[int]] = {}
        sizes = set()
        for count in FRAME_COUNTS:
            folder = Path(tmp) / f"frames{count}"
            folder.mkdir()
            name = f"clip{count}.mp4"
            videos[name] = flat_video(count)
            extract_frames([name], str(folder), size=FRAME_SIZE, frames=FRAMES)
            chosen = []
            for i in range(FRAMES):
                with Image.open(folder / name.replace(".mp4", f"_{i}.png")) as frame:
                    pixels = np.asarray(frame.convert("RGB"))
                    sizes.add(frame.size)
                assert (pixels == pixels[0, 0]).all(), "a flat frame stays flat through the resize"
                chosen.append(int(pixels[0, 0, 0]) + 256 * int(pixels[0, 0, 1]))
            indices[str(count)] = chosen
    record["frames"] = {"count": FRAMES, "sizes": sorted(list(s) for s in sizes), "indices": indices}
    (out / "reference.json").write_text(json.dumps(record) + "\n")
    print(out, sorted(p.name for p in out.iterdir()))


if __name__ == "__main__":
    main(sys.argv[1:])
