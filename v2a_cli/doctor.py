"""`v2a doctor`: versions, the device `auto` picks, where each model resolves, and the CLAP space check.

The space check encodes a few captions with our CLAP text tower (the mapper's target space) and with
the generator's own text encoder (the space AudioLDM is conditioned in). Cosine ~1.0 means one space;
below SPACE_CHECK_MIN_MEAN the mapper would aim at a space the generator does not read.
The audio check is the other side: the generator makes a short sound from each of a few captions
(their CLAP text embeddings as conditions), CLAP's audio tower embeds the sounds, and each caption
must rank its own sound first among them. It needs real weights to mean anything; on tiny random
models (the test zoo) it runs and says so.
Doctor never raises on a missing model: each problem becomes a line in the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from v2a_cli.models_config import ModelsConfig
from v2a_cli.registry import BUILTIN_SPECS, ModelLocation, _hub_snapshot, download_cache_path, locate_model  # noqa: F401

SPACE_CHECK_MIN_MEAN = 0.99
SPACE_CHECK_CAPTIONS: tuple[str, ...] = (
    "a dog barking",
    "rain falling on a tin roof",
    "a crowd cheering in a stadium",
    "a man speaking",
    "an acoustic guitar playing a melody",
    "a car engine revving",
    "birds chirping in a forest",
    "waves crashing on a beach",
)
AUDIO_CHECK_CAPTIONS = SPACE_CHECK_CAPTIONS[:4]
AUDIO_CHECK_SECONDS = 5.0
AUDIO_CHECK_STEPS = 25  # DPM-Solver++ steps: about what ddim needs 200 for
# Below these sizes the models are not the real AudioLDM-S / HTSAT-tiny (e.g. the random test zoo), and
# a ranking of their sounds means nothing. The real ones: UNet 185 M, CLAP audio tower ~28 M parameters.
REAL_UNET_MIN_PARAMS = 100_000_000
REAL_CLAP_AUDIO_MIN_PARAMS = 10_000_000
# distribution name -> shown name
PACKAGES: dict[str, str] = {
    "v2a-cli": "v2a",
    "torch": "torch",
    "diffusers": "diffusers",
    "transformers": "transformers",
    "open_clip_torch": "open_clip",
    "av": "av",
    "huggingface_hub": "huggingface_hub",
}




@dataclass
class ModelReport:
    role: str
    spec: str
    status: str
    location: str  # a path, or the one-line reason


@dataclass
class SpaceCheck:
    ran: bool
    captions: list[str] = field(default_factory=list)
    cosines: list[float] = field(default_factory=list)
    mean: float | None = None
    ok: bool | None = None
    note: str = ""  # why it did not run, or the warning


@dataclass
class AudioCheck:
    ran: bool
    captions: list[str] = field(default_factory=list)
    own_cosines: list[float] = field(default_factory=list)  # caption i vs the sound made from caption i
    ranks: list[int] = field(default_factory=list)  # 1 = caption i's own sound is the closest to it
    meaningful: bool = False  # real-size models (see REAL_*_MIN_PARAMS)
    ok: bool | None = None  # every caption ranks its own sound first (None: not run or not meaningful)
    note: str = ""


@dataclass
class DoctorReport:
    versions: dict[str, str | None]
    device: str
    device_name: str
    dtype: str
    models: list[ModelReport]
    space_check: SpaceCheck
    problems: list[str] = field(default_factory=list)
    audio_check: AudioCheck = field(default_factory=lambda: AudioCheck(ran=False, note="not asked for"))

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


# -- model locations -----------------------------------------------------------------------------

HOST_TIMEOUT = 5.0  # seconds to wait for a model host before calling it unreachable


def host_of(spec: str) -> str:
    """The address a remote spec downloads from: the URL itself, or the Hugging Face Hub's endpoint."""
    if spec.startswith(("https://", "http://")):
        return spec
    from huggingface_hub import constants

    return constants.ENDPOINT


def unreachable(url: str, timeout: float = HOST_TIMEOUT) -> str | None:
    """Why `url`'s host cannot be reached now (None: it answered, whatever its HTTP status)."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        urllib.request.urlopen(urllib.request.Request(f"{parts.scheme}://{parts.netloc}/", method="HEAD"),
                               timeout=timeout).close()
    except urllib.error.HTTPError:
        return None  # it answered
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{parts.netloc} cannot be reached ({reason})"
    return None


# -- the pieces of the report ----------------------------------------------------------------------

def package_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for distribution, shown in PACKAGES.items():
        try:
            found[shown] = version(distribution)
        except PackageNotFoundError:
            found[shown] = None
    if found["v2a"] is None:
        from v2a_cli.version import __version__

        found["v2a"] = __version__
    return found


def _device_name(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return {"mps": "Apple GPU (Metal)", "cpu": "CPU"}.get(device.type, str(device))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def space_check(models: ModelsConfig, *, device: Any, captions: tuple[str, ...] = SPACE_CHECK_CAPTIONS) -> SpaceCheck:
    """Cosine between our CLAP text tower and the generator's text encoder on the same captions."""
    import torch
    import torch.nn.functional as F

    from v2a_cli.loaders import load_model

    try:
        clap = load_model("clap", models.clap, device=device, dtype=torch.float32, tokenizer=models.generator)
        ours = F.normalize(clap.encode_texts(list(captions)).float().cpu(), dim=-1)
        del clap
        generator = load_model("generator", models.generator, device=device, dtype=torch.float32)
        theirs = F.normalize(generator.encode_texts(list(captions)).float().cpu(), dim=-1)
    except Exception as exc:  # a diagnostic reports every failure instead of crashing
        return SpaceCheck(ran=False, captions=list(captions), note=f"could not run: {_one_line(exc)}")
    cosines = (ours * theirs).sum(dim=-1).tolist()
    mean = sum(cosines) / len(cosines)
    ok = mean >= SPACE_CHECK_MIN_MEAN
    note = "one space" if ok else (
        f"mean cosine {mean:.4f} < {SPACE_CHECK_MIN_MEAN}: the CLAP model and the generator's text encoder "
        "are different spaces; a mapper trained on this CLAP would target the wrong space for this generator"
    )
    return SpaceCheck(ran=True, captions=list(captions), cosines=cosines, mean=mean, ok=ok, note=note)


def _parameters(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def audio_check(models: ModelsConfig, *, device: Any, captions: tuple[str, ...] = AUDIO_CHECK_CAPTIONS,
                seconds: float | None = None, steps: int | None = None) -> AudioCheck:
    """Generate a sound per caption; each caption must be closest (CLAP audio tower) to its own sound."""
    seconds = AUDIO_CHECK_SECONDS if seconds is None else seconds
    steps = AUDIO_CHECK_STEPS if steps is None else steps
    import torch
    import torch.nn.functional as F

    from v2a_cli.embeddings.clap import clap_input_from_generated
    from v2a_cli.loaders import load_model

    try:
        generator = load_model("generator", models.generator, device=device, dtype=torch.float32)
        texts = F.normalize(generator.encode_texts(list(captions)).float(), dim=-1)
        sounds = generator.generate(texts, seeds=list(range(len(captions))), steps=steps, guidance=4.5,
                                    duration=min(seconds, generator.max_duration), scheduler="dpm")
        meaningful = _parameters(generator.unet) >= REAL_UNET_MIN_PARAMS
        rate = generator.sample_rate
        del generator
        clap = load_model("clap", models.clap, device=device, dtype=torch.float32, tokenizer=models.generator)
        meaningful = meaningful and _parameters(clap.model.audio_model) >= REAL_CLAP_AUDIO_MIN_PARAMS
        audio = clap.encode_audio([clap_input_from_generated(sound, rate) for sound in sounds])
    except Exception as exc:  # a diagnostic reports every failure instead of crashing
        return AudioCheck(ran=False, captions=list(captions), note=f"could not run: {_one_line(exc)}")
    similarity = F.normalize(audio.float(), dim=-1) @ texts.T  # [sound, caption]
    own = similarity.diagonal()
    ranks = [int((similarity[:, i] > own[i]).sum()) + 1 for i in range(len(captions))]
    passed = all(rank == 1 for rank in ranks)
    if not meaningful:
        note = ("ran on small random models (not the real AudioLDM-S and CLAP): the ranking is not meaningful; "
                "run doctor with the real weights to check the audio side")
        ok = None
    elif passed:
        note, ok = "each caption ranks its own sound first", True
    else:
        wrong = [caption for caption, rank in zip(captions, ranks) if rank != 1]
        note, ok = (f"{len(wrong)} of {len(captions)} captions do not rank their own sound first "
                    f"({', '.join(wrong)}): the CLAP audio tower and the generator disagree"), False
    return AudioCheck(ran=True, captions=list(captions), own_cosines=own.tolist(), ranks=ranks,
                      meaningful=meaningful, ok=ok, note=note)


def run_doctor(models: ModelsConfig, *, device: str = "auto", check_space: bool = True,
               download: bool = False, check_audio: bool | None = None) -> DoctorReport:
    """Everything `v2a doctor` shows. The space check loads the CLAP and generator models; it is skipped
    (with the reason) when they would have to be downloaded first, unless `download` is true. The audio
    check (check_audio; None = only on a GPU, it generates sound) has the same condition."""
    from v2a_cli.device import pick_device, pick_dtype
    from v2a_cli.errors import V2AError

    problems: list[str] = []
    try:
        picked = pick_device(device)
        dtype = str(pick_dtype("auto", picked)).removeprefix("torch.")
        device_text, device_name = str(picked), _device_name(picked)
    except V2AError as exc:
        picked, dtype, device_text, device_name = None, "-", device, str(exc)
        problems.append(str(exc))

    reports: list[ModelReport] = []
    locations: dict[str, ModelLocation] = {}
    for role, spec in vars(models).items():
        location = locate_model(spec, kind=role)
        locations[role] = location
        reports.append(ModelReport(role, spec, location.status, str(location.path) if location.path else location.note))
        if location.status == "missing":
            problems.append(f"{role} model '{spec}': {location.note}")
    problems += _unreachable_downloads(models, locations)

    needed = ("clap", "generator")
    not_here = [role for role in needed if not locations[role].usable_offline]
    cannot_run = _why_checks_cannot_run(picked, not_here, download)
    if not check_space:
        check = SpaceCheck(ran=False, note="skipped (--no-space-check)")
    elif cannot_run:
        check = SpaceCheck(ran=False, note=cannot_run)
    else:
        check = space_check(models, device=picked)
        if check.ran and not check.ok:
            problems.append(f"space check: {check.note}")
        elif not check.ran:
            problems.append(f"space check {check.note}")
    if check_audio is None:
        check_audio = picked is not None and picked.type != "cpu"
        skipped_note = "skipped on CPU (it generates sound: minutes); pass --audio-check to run it"
    else:
        skipped_note = "skipped (--no-audio-check)"
    if not check_audio:
        audio = AudioCheck(ran=False, note=skipped_note)
    elif cannot_run:
        audio = AudioCheck(ran=False, note=cannot_run)
    else:
        audio = audio_check(models, device=picked)
        if audio.ok is False:
            problems.append(f"audio check: {audio.note}")
        elif not audio.ran:
            problems.append(f"audio check {audio.note}")
    return DoctorReport(package_versions(), device_text, device_name, dtype, reports, check, problems, audio)


def _unreachable_downloads(models: ModelsConfig, locations: dict[str, ModelLocation]) -> list[str]:
    """A model that is not here yet must be downloaded on first use: one problem per such model whose
    host does not answer now (no network, a proxy, a firewall), so that doctor does not say all is well."""
    problems: list[str] = []
    reasons: dict[str, str | None] = {}
    for role, location in locations.items():
        if location.status != "remote":
            continue
        spec = getattr(models, role)
        host = host_of(spec)
        if host not in reasons:
            reasons[host] = unreachable(host)
        if reasons[host]:
            problems.append(f"{role} model '{spec}': not downloaded yet and {reasons[host]}; connect to the "
                            "Internet once (or point the models file at a local copy)")
    return problems


def _why_checks_cannot_run(picked, not_here: list[str], download: bool) -> str | None:
    """Why the space and audio checks (which run the models) are skipped, or None when they can run."""
    if picked is None:
        return "skipped: no usable device"
    if not_here and not download:
        return (f"skipped: {' and '.join(not_here)} not downloaded yet "
                "(pass --download to fetch them, or run generate once)")
    return None
