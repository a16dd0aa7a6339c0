"""The one place every model is found and loaded.

A model *spec* is one of:
  - a local path (file or folder);
  - a Hugging Face Hub repo, written ``hf-hub:org/name`` or plain ``org/name`` (``@revision`` optional);
  - an ``https://`` URL of a single file (used for AudioLDM's original checkpoint, which is not on the Hub),
    downloaded once into our cache and checked against a sha256 when one is known.

Loaders register themselves by kind in ``LOADERS`` (a dict, not an if-chain); ``load_model(kind, spec)``
is what the pipeline calls. When weights are neither cached nor reachable, or ``HF_HUB_OFFLINE=1``
forbids the download, a ``ModelUnavailableError`` with one line naming the model and the fix is raised.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from v2a_cli.errors import ModelUnavailableError, first_line
from v2a_cli.files import atomic_output

HUB_PREFIX = "hf-hub:"
LIBRARY_NAME = "v2a_cli"

# kind -> loader(spec, **kwargs). Filled by the modules that own each kind (`loaders.load_model` imports them).
LOADERS: dict[str, Callable[..., Any]] = {}

def register_loader(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        LOADERS[kind] = fn
        return fn

    return decorate


@contextmanager
def quiet_library_loading() -> Iterator[None]:
    """While models load or save: no per-file progress bars or advisory logs from transformers and
    diffusers (the CLI owns stderr). Hub download bars stay as they were: a multi-GB first download
    should show progress. Everything is restored afterwards."""
    import diffusers.utils.logging as diffusers_logging
    import huggingface_hub.utils as hub_utils
    import transformers.utils.logging as transformers_logging

    hub_bars = not hub_utils.are_progress_bars_disabled()
    saved = [(module, module.is_progress_bar_enabled(), module.get_verbosity())
             for module in (diffusers_logging, transformers_logging)]
    for module, _, _ in saved:
        module.disable_progress_bar()  # transformers' also switches the Hub's bars off: restored below
        module.set_verbosity_error()
    if hub_bars:
        hub_utils.enable_progress_bars()
    try:
        yield
    finally:
        for module, bars, verbosity in saved:
            if bars:
                module.enable_progress_bar()
            module.set_verbosity(verbosity)
        if hub_bars:
            hub_utils.enable_progress_bars()
        else:
            hub_utils.disable_progress_bars()


def cache_dir() -> Path:
    """v2a's own cache (converted checkpoints, embedding caches). Never relative to the working directory."""
    root = os.environ.get("V2A_CACHE")
    if root:
        path = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        path = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "v2a"
    path.mkdir(parents=True, exist_ok=True)
    return path


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str | None = None


def parse_hub_ref(spec: str) -> HubRef | None:
    """`hf-hub:org/name[@rev]` or a bare `org/name[@rev]` that is not an existing path."""
    text = spec[len(HUB_PREFIX):] if spec.startswith(HUB_PREFIX) else spec
    if not spec.startswith(HUB_PREFIX) and (Path(spec).expanduser().exists() or spec.startswith((".", "/", "~"))):
        return None
    repo, _, revision = text.partition("@")
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or "\\" in repo:
        return None
    return HubRef(repo_id=repo, revision=revision or None)


LOCAL_PATH_HINT = "check the path (in the models file, --models / V2A_MODELS, or the command's flag)"


def _unavailable(kind: str, spec: str, why: str, hint: str | None = None) -> ModelUnavailableError:
    """One line naming the model, why it is missing and the fix; the Hub advice only for a Hub id."""
    if hint is None:
        hint = (
            "HF_HUB_OFFLINE=1 is set: run once online to cache it, or point the models file at a local copy"
            if hub_offline()
            else "check the name, your network, or point the models file (--models / V2A_MODELS) at a local copy"
        )
    return ModelUnavailableError(f"{kind} model '{spec}' is not available ({why}); {hint}")


def looks_like_a_path(spec: str) -> bool:
    """A spec written as a file path (./x, /x, ~/x, a\\b, or a/b/c) rather than a Hub id or a name."""
    if spec.startswith(("https://", "http://", HUB_PREFIX)):
        return False
    return spec.startswith((".", "/", "~")) or "\\" in spec or ("/" in spec and parse_hub_ref(spec) is None)


def check_local_path(spec: str, *, kind: str) -> None:
    """Raise the loader's own ModelUnavailableError now when `spec` is a local path that does not exist:
    a command checks this before it loads any model, instead of after loading the others."""
    if looks_like_a_path(spec) and not Path(spec).expanduser().exists():
        raise _unavailable(kind, spec, "no such file or folder, and not a Hub id", LOCAL_PATH_HINT)


def resolve_dir(spec: str, *, kind: str, allow_patterns: list[str] | None = None) -> Path:
    """A local folder holding the model's files: the path itself, or a Hub snapshot (cached or downloaded)."""
    local = Path(spec).expanduser()
    if local.exists():
        return local
    ref = parse_hub_ref(spec)
    if ref is None:
        raise _unavailable(kind, spec, "no such file or folder, and not a Hub id", LOCAL_PATH_HINT)
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(
            ref.repo_id,
            revision=ref.revision,
            allow_patterns=allow_patterns,
            local_files_only=hub_offline(),
            library_name=LIBRARY_NAME,
        )
    except Exception as exc:  # hub errors come in many classes; all mean "not available"
        raise _unavailable(kind, spec, first_line(exc)) from exc
    return Path(path)


def resolve_file(spec: str, filename: str | None = None, *, kind: str, sha256: str | None = None) -> Path:
    """One file: a local path, `filename` inside a local folder or Hub repo, or an https URL."""
    local = Path(spec).expanduser()
    if local.is_file():
        return local
    if local.is_dir():
        if filename and (local / filename).is_file():
            return local / filename
        raise _unavailable(kind, spec, f"folder has no {filename or 'file'}")
    if spec.startswith(("https://", "http://")):
        return _download_url(spec, kind=kind, sha256=sha256)
    ref = parse_hub_ref(spec)
    if ref is None or not filename:
        raise _unavailable(kind, spec, "no such file or folder, and not a Hub id", LOCAL_PATH_HINT)
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(
            ref.repo_id,
            filename,
            revision=ref.revision,
            local_files_only=hub_offline(),
            library_name=LIBRARY_NAME,
        )
    except Exception as exc:
        raise _unavailable(kind, spec, first_line(exc)) from exc
    return Path(path)


def download_cache_path(url: str) -> Path:
    """Where a URL's file is (or will be) cached: cache_dir()/downloads/<sha256(url)[:16]>/<name>."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    name = url.split("?")[0].rstrip("/").split("/")[-1] or "download"
    return cache_dir() / "downloads" / key / name


def _download_url(url: str, *, kind: str, sha256: str | None) -> Path:
    target = download_cache_path(url)
    if target.is_file():
        return target
    if hub_offline():
        raise _unavailable(kind, url, "not in the cache and downloads are off")
    digest = hashlib.sha256()
    try:
        with atomic_output(target, overwrite=True) as tmp:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if sha256 and digest.hexdigest() != sha256:
                raise _unavailable(kind, url, f"checksum mismatch (got sha256 {digest.hexdigest()[:12]}…)")
    except ModelUnavailableError:
        raise
    except Exception as exc:
        raise _unavailable(kind, url, first_line(exc)) from exc
    return target


# -- where a spec resolves, without downloading (`v2a doctor`, the bridge's cache key) ---------------

BUILTIN_SPECS: dict[str, str] = {"bridge": "built in: zero-shot text bridge (v2a_cli.mapper.bridge)"}


@dataclass(frozen=True)
class ModelLocation:
    """Where a spec resolves without downloading anything.

    status: "local" (a path), "cached" (Hub or URL download already in a cache), "remote" (downloaded on
    first use), "builtin", "named" (a name its loader resolves), "missing" (cannot be used as is).
    """

    status: str
    path: Path | None = None
    note: str = ""

    @property
    def usable_offline(self) -> bool:
        return self.status in ("local", "cached", "builtin")


def _hub_snapshot(repo_id: str, revision: str | None) -> Path | None:
    """The snapshot folder of a Hub repo already in the Hugging Face cache, without network."""
    from huggingface_hub import constants

    repo_folder = Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))
    ref_file = repo_folder / "refs" / (revision or "main")
    commit = ref_file.read_text().strip() if ref_file.is_file() else revision
    snapshot = repo_folder / "snapshots" / commit if commit else None
    return snapshot if snapshot is not None and snapshot.is_dir() else None


def locate_model(spec: str, *, kind: str) -> ModelLocation:
    """Where `spec` resolves now: a local path, a cached download, or why not. Never downloads."""
    if spec in BUILTIN_SPECS:
        return ModelLocation("builtin", note=BUILTIN_SPECS[spec])
    local = Path(spec).expanduser()
    if local.exists():
        return ModelLocation("local", local.resolve())
    offline_note = "not cached and HF_HUB_OFFLINE=1 forbids downloading it"
    if spec.startswith(("https://", "http://")):
        target = download_cache_path(spec)
        if target.is_file():
            return ModelLocation("cached", target)
        return ModelLocation("missing", note=offline_note) if hub_offline() else ModelLocation(
            "remote", note=f"downloaded on first use into {target.parent}")
    ref = parse_hub_ref(spec)
    if ref is not None:
        snapshot = _hub_snapshot(ref.repo_id, ref.revision)
        if snapshot is not None:
            return ModelLocation("cached", snapshot)
        return ModelLocation("missing", note=offline_note) if hub_offline() else ModelLocation(
            "remote", note="downloaded from the Hugging Face Hub on first use")
    if spec.startswith((".", "/", "~")) or "/" in spec or "\\" in spec:
        return ModelLocation("missing", note="no such file or folder; fix the path in the models file")
    return ModelLocation("named", note=f"a name the {kind} loader resolves on first use")
