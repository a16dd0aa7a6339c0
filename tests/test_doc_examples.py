"""Every command in README.md and docs/*.md, run as written on the tiny zoo, so docs and behaviour cannot drift.

Each fenced block must say what it is: ```bash (commands, each one run here), ```python (its imports are
executed, so a renamed name fails), or ```text / ```toml (listings, diagrams, synopses: not run). The
`v2a ...` commands of each page run in the order of the page, in a fresh folder that holds the page's
placeholder media (dog.jpg, street.mp4, frog.wav, ...; one fresh folder per block), through the real entry point `v2a_cli.cli.main`
in this process, with `V2A_MODELS` naming the zoo (the documented variable). `~` is a home folder made
here, whose `Downloads/ssv2a` is the zoo's SSV2A-format checkpoint.

A command that cannot run here (pip and the network, torchrun with GPUs, `v2a app` that serves until
stopped) is listed below, exactly as written, with the reason; a command with a `-m v2a_cli` part has
that part parsed by the real command line. A fenced command this test does not know fails the test:
add a page's new command and it runs; add a command that cannot run and it must be listed here.
Every `--flag` named anywhere in the docs (prose included) must be an option of some `v2a` command,
or a flag of another tool listed in FOREIGN_FLAGS.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN_LANGS = {"bash", "sh", "shell", "console"}
NOT_RUN_LANGS = {"text", "toml", "json", "python"}  # python: its imports are executed (test below)

# Commands other than `v2a` (exactly as written, comments dropped), with why they do not run here.
NETWORK = "downloads from PyPI (this test runs offline)"
FIXTURES = "regenerates a committed reference fixture from the original implementation (downloaded with pip)"
FOREIGN: dict[str, str] = {
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]'": "the install CI runs (.ci/run) on a clean clone",
    ".venv/bin/pytest -q": "the test suite itself (this test is part of it)",
    # docs/testing.md: the whole suite as another machine would run it (this test is part of it).
    ".venv/bin/pytest -q -p random_order --random-order": "the test suite itself, in a shuffled order",
    "ATEN_CPU_CAPABILITY=default .venv/bin/pytest -q": "the test suite itself, with other CPU kernels",
    "ONEDNN_MAX_CPU_ISA=SSE41 .venv/bin/pytest -q": "the test suite itself, with other CPU kernels",
    "MKL_ENABLE_INSTRUCTIONS=SSE4_2 .venv/bin/pytest -q": "the test suite itself, with other CPU kernels",
    "V2A_TEST_THREADS=2 .venv/bin/pytest -q": "the test suite itself, with two threads per process",
    'LANG=C LC_ALL=C TMPDIR="/tmp/a folder with spaces" .venv/bin/pytest -q':
        "the test suite itself, in an ASCII locale with a TMPDIR holding a space",
    ".venv/bin/python -m v2a_cli.testing.zoo /tmp/zoo": "the zoo this test uses is built by the same build_zoo(); "
                                                         "/tmp/zoo in the commands below stands for it",
    "pip install -e '.[app]'": NETWORK,
    "mkdir -p /tmp/ref && cd /tmp/ref": "first step of the fixture-regeneration recipe (docs/fidelity.md)",
    "pip download --no-deps audioldm==0.1.1 audioldm-eval==0.0.3 wav2clip==0.1.0 torchaudio": NETWORK,
    'for w in *.whl; do unzip -q -o "$w" -d src; done': "unpacks the wheels the previous step downloaded",
    "cd <v2a checkout>": "a placeholder folder of the recipe",
    "PYTHONPATH=$PWD python tests/embeddings/data/make_clap_conditions.py /tmp/ref/src /tmp/ref/src": FIXTURES,
    "pip install --no-deps --target /tmp/ref/deps torchlibrosa librosa numba llvmlite lazy_loader decorator "
    "audioread soxr joblib cloudpickle msgpack pooch platformdirs": NETWORK,
    "PYTHONPATH=$PWD python tests/embeddings/data/make_clap_network_reference.py /tmp/ref/src /tmp/ref/deps": FIXTURES,
    "PYTHONPATH=$PWD python tests/evaluation/data/make_panns_reference.py /tmp/ref/src /tmp/ref/deps": FIXTURES,
    "pip download --no-deps -d /tmp/ref torchvggish==0.2 && tar xzf /tmp/ref/torchvggish-0.2.tar.gz -C /tmp/ref":
        NETWORK,
    "PYTHONPATH=$PWD python tests/evaluation/data/make_vggish_reference.py /tmp/ref/torchvggish-0.2": FIXTURES,
    "PYTHONPATH=$PWD python tests/evaluation/data/make_wav2clip_reference.py /tmp/ref/src /tmp/ref/deps": FIXTURES,
    "PYTHONPATH=$PWD python tests/evaluation/data/make_metric_references.py /tmp/ref/src": FIXTURES,
    "PYTHONPATH=$PWD python tests/generation/data/make_sampling_reference.py":
        "prints how far v2a's sampling loop is from diffusers' pipeline (tests/generation/test_sampling_reference.py "
        "runs the same comparison)",
    "git clone https://github.com/wguo86/SSV2A /tmp/ref/SSV2A && git clone https://github.com/openai/CLIP /tmp/ref/CLIP":
        "downloads SSV2A's and CLIP's original code from GitHub (network)",
    "PYTHONPATH=$PWD python tests/mapper/ssv2a/data/make_ssv2a_fixtures.py /tmp/ref/SSV2A": FIXTURES,
    "PYTHONPATH=$PWD python tests/mapper/ssv2a/data/make_ssv2a_preprocessing.py /tmp/ref/SSV2A /tmp/ref/CLIP": FIXTURES,
    # torchrun: several processes on GPUs (tests/cli/test_torchrun.py and tests/training/test_train_ddp.py run
    # torchrun on CPU); the `-m v2a_cli ...` part of each is parsed by the real command line below.
    "torchrun --nproc_per_node 4 -m v2a_cli train --pairs pairs.safetensors --out runs/x": "4 GPUs",
    "torchrun --nproc-per-node 8 -m v2a_cli extract --data /data/vggsound --out /shared/vggsound-cache "
    "--split-csv vggsound.csv --workers 6": "8 GPUs",
    "torchrun --nproc_per_node 2 -m v2a_cli train ... --device cpu": "'...' stands for the options of a run",
}

# `v2a` commands that are parsed (every option checked by the real command line) but not run, and why.
PARSE_ONLY: dict[str, str] = {
    "v2a app": "serves the page until stopped (tests/web runs it)",
    "v2a app --models models.toml --port 8000 --device cuda": "serves until stopped, on a GPU",
    "v2a extract --data /data/vggsound --out /shared/vggsound-cache --split-csv vggsound.csv "
    "--pairs-out train.safetensors": "finishes the 8-GPU torchrun extraction above, on a cluster's folders "
                                     "(docs/data.md's first command runs the same on the test's clips)",
}
# `v2a` commands with a placeholder ('...') that cannot be parsed, and why.
PLACEHOLDER: dict[str, str] = {
    "v2a train ... --resume": "'...' stands for the options of the run to continue "
                              "(tests/training/test_train.py resumes bit for bit)",
}
# `v2a` commands run with options appended here, and why (everything else runs exactly as written).
SMALLER = ["--epochs", "2", "--train-batch-size", "4", "--depth", "1", "--heads", "2", "--dim-head", "16", "--ff-mult", "1"]
ADJUSTED: dict[str, tuple[list[str], str]] = {
    "v2a train --data vggsound/ --split-csv vggsound.csv --out runs/diff-tf --kind diffusion --arch transformer":
        (SMALLER, "the paper's 100 epochs of a 12-layer prior take minutes on a CPU; same code, smaller run"),
    "v2a train --pairs pairs.safetensors --out runs/diff-trans":
        (SMALLER, "the paper's 100 epochs of a 12-layer prior take minutes on a CPU; same code, smaller run"),
    "v2a train --data videos/ --split-csv vggsound.csv --out runs/x":
        (SMALLER, "the paper's 100 epochs of a 12-layer prior take minutes on a CPU; same code, smaller run"),
}

# Fewer sampling steps: every generating command gets these appended (the last value of an option wins). The
# sampling loop is the same code at any step count (tests/generation pins it); at the documented 25-200 steps
# the pages' ~40 commands would take many minutes on the zoo. Nothing else is changed.
FEWER_STEPS: dict[str, list[str]] = {
    "generate": ["--steps", "2", "--mapper-steps", "3"],
    "compose": ["--steps", "2"],
    "interpolate": ["--denoise-steps", "2"],
}

# Flags of other tools that the docs name (torchrun, pip, SSV2A's and av-benchmark's own scripts); bench/
# scripts' flags are read from bench/ itself.
FOREIGN_FLAGS = {"--nproc_per_node", "--nproc-per-node", "--nnodes", "--node-rank", "--rdzv-endpoint",
                 "--no-deps", "--target", "--index-url", "--extra-index-url", "--var_samples", "--audio_length",
                 "--random-order", "--random-order-seed", "--durations"}  # pytest's (docs/testing.md)


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str


@dataclass
class Command:
    page: Path
    line: int
    text: str  # tokens joined by single spaces, comments dropped: the key of the tables above
    tokens: list[str]

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}: {self.text}"


def fenced_blocks(page: Path) -> list[Block]:
    blocks, lines = [], page.read_text().splitlines()
    inside, start, lang, body = False, 0, "", []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            if not inside:
                inside, start, lang, body = True, number, stripped[3:].strip().lower(), []
            else:
                blocks.append(Block(page, start, lang, "\n".join(body)))
                inside = False
        elif inside:
            body.append(line)
    return blocks


def shell_commands(block: Block) -> list[Command]:
    """The commands of a shell block: continuation lines joined, comments dropped, `a && b` kept as one."""
    commands, pending, first = [], "", 0
    for offset, line in enumerate(block.body.splitlines(), 1):
        if not pending:
            first = block.line + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text, pending = pending + line, ""
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
        if tokens:
            commands.append(Command(block.page, first, _key(text), tokens))
    return commands


def _key(text: str) -> str:
    """The command as written, one space between words, its trailing comment dropped."""
    lexer = shlex.shlex(text, posix=False, punctuation_chars=";&|")
    lexer.whitespace_split = True
    return " ".join(lexer).replace(" ;", ";")


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in fenced_blocks(page)]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ------------------------------------------------------------------------------------------------ media


def _videos(folder: Path, names: list[str], *, seconds: float = 2.0) -> None:
    from v2a_cli.testing.media import make_video

    for i, name in enumerate(names):
        make_video(folder / name, seconds=seconds, fps=4, size=(32, 32), frequency=300 + 150 * i)


@pytest.fixture(scope="session")
def placeholder_media(tmp_path_factory, zoo_models_toml) -> Path:
    """One folder with every file the docs' commands name; each page gets a copy (its own outputs)."""
    import torch

    from v2a_cli.testing.media import make_image, make_scene_video, make_video, make_wav
    from v2a_cli.training.pairs import save_pairs

    root = tmp_path_factory.mktemp("doc-media")
    for name, color in [("dog.jpg", (200, 80, 40)), ("dog.png", (190, 90, 50)), ("street.jpg", (60, 60, 70)),
                        ("flute.jpg", (220, 200, 40))]:
        make_image(root / name, size=(64, 48), color=color)
    make_video(root / "street.mp4", seconds=3.0, fps=4, size=(32, 32))
    # --start 60 --end 95 runs past its end (clamped, as for any video); 66 s keeps the whole-film commands cheap.
    make_video(root / "film.mp4", seconds=66.0, fps=1, size=(32, 32))
    make_wav(root / "frog.wav", seconds=1.0, frequency=300)
    make_wav(root / "thunder.wav", seconds=1.0, frequency=80)
    make_image(root / "photos" / "cat.jpg", size=(48, 48))
    _videos(root / "clips", ["rain.mp4", "bird.mp4"])
    # VGGSound-named clips and their split CSV (train and test rows), for extract and train.
    clips = [f"clip{i}_{10 * i:06d}.mp4" for i in range(4)]
    for folder in ("vggsound", "home/vggsound/video"):
        _videos(root / folder, clips)
    # videos/ also feeds `eval --suite all`: the IB-score and DeSync read the first --audio-length (8) seconds.
    _videos(root / "videos", clips, seconds=8.0)
    rows = [f"clip{i},{10 * i},label {i},{'test' if i == 3 else 'train'}" for i in range(4)]
    (root / "vggsound.csv").write_text("\n".join(rows) + "\n")
    generator = torch.Generator().manual_seed(0)
    save_pairs(root / "pairs.safetensors", torch.randn(8, 512, generator=generator),
               torch.randn(8, 512, generator=generator))
    # v2a eval: generated sounds, references and prompt images, named like the clips of videos/ (paired metrics)
    for i, name in enumerate(clip[:-len(".mp4")] for clip in clips[:3]):
        make_wav(root / "generated" / f"{name}.wav", seconds=8.0, frequency=300 + 100 * i)  # DeSync: 8 s
        make_wav(root / "references" / f"{name}.wav", seconds=1.0, frequency=320 + 90 * i)
        make_image(root / "frames" / f"{name}.jpg", color=(40 * i, 120, 160))
    shutil.copy(zoo_models_toml, root / "models.toml")
    shutil.copytree(zoo_models_toml.parent / "ssv2a", root / "home" / "Downloads" / "ssv2a")
    shutil.copytree(zoo_models_toml.parent / "mapper", root / "my-mapper")  # "a mapper you trained"
    return root


# ------------------------------------------------------------------------------------------------ running


@pytest.fixture(scope="session")
def _loaded_models() -> dict:
    return {}


@pytest.fixture
def models_loaded_once(_loaded_models, monkeypatch):
    """Each model loads once per session (keyed by kind, spec and arguments) through the real loader; the
    commands after it get that same model, as `v2a app` serves one warm pipeline. Loading is what the
    other tests pin; here it would be half of the time. Models are never changed by a command (no settings
    are mutated on shared models), so sharing them changes no result."""
    import importlib

    from v2a_cli import loaders, registry

    # Extraction decodes in this process: a pool of spawned workers costs more than the pages' few tiny clips
    # (tests/training/test_extract.py runs the pool).
    monkeypatch.setattr("v2a_cli.training.extract.default_workers", lambda: 0)
    for module in loaders.LOADER_MODULES.values():
        importlib.import_module(module)
    for kind, loader in list(registry.LOADERS.items()):
        def load_once(spec, *, _kind=kind, _loader=loader, **kwargs):
            key = (_kind, str(spec), repr(sorted(kwargs.items())))
            if key not in _loaded_models:
                _loaded_models[key] = _loader(spec, **kwargs)
            return _loaded_models[key]

        monkeypatch.setitem(registry.LOADERS, kind, load_once)


def run_v2a(argv: list[str], capsys) -> tuple[int, str, str]:
    from v2a_cli.cli import main

    code = 0
    try:
        main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def parse_v2a(argv: list[str]) -> None:
    """Parse a command line with the real click tree (every option's type and range checked); run nothing."""
    import typer.main

    from v2a_cli.cli import app
    from v2a_cli.cli.params import click, prepare_commands

    group = prepare_commands(typer.main.get_command(app))
    root = click.Context(group, info_name="v2a")
    command = group.get_command(root, argv[0])
    assert command is not None, f"no command {argv[0]!r}"
    with command.make_context(argv[0], list(argv[1:]), parent=root):
        pass


def shell_words(tokens: list[str], home: Path, zoo: Path) -> list[str]:
    """What the shell would pass: `~` expanded, unquoted globs matched, /tmp/zoo (README) -> the test's zoo."""
    words = []
    for token in tokens:
        token = token.replace("/tmp/zoo", str(zoo))
        if token.startswith("~"):
            token = str(home) + token[1:]
        if any(char in token for char in "*?[") and glob.glob(token):
            words.extend(sorted(glob.glob(token)))
        else:
            words.append(token)
    return words


def v2a_part(command: Command) -> list[str] | None:
    """The `v2a` arguments of a command: after `v2a`, or after `-m v2a_cli`; None when it has none."""
    tokens = command.tokens
    if tokens[0] == "v2a":
        return tokens[1:]
    for i in range(len(tokens) - 1):
        if tokens[i] == "-m" and tokens[i + 1] == "v2a_cli":
            return tokens[i + 2:]
    return None


def fewer_steps(argv: list[str]) -> list[str]:
    name = next((word for word in argv if word in FEWER_STEPS), None)
    return FEWER_STEPS[name] if name else []


OUTPUT_FLAGS = {"-o", "--output", "--concat", "--save-json", "--boxes", "--pairs-out"}


@pytest.mark.parametrize("page", [p for p in PAGES if any(b.lang in RUN_LANGS for b in fenced_blocks(p))],
                         ids=page_id)
def test_every_command_of_the_page_runs_as_written_on_the_zoo(page, placeholder_media, zoo_models_toml, tmp_path,
                                                               models_loaded_once, monkeypatch, capsys):
    """Each block runs in order in a fresh copy of the media folder, as a reader who copies it would."""
    monkeypatch.setenv("V2A_MODELS", str(zoo_models_toml))
    monkeypatch.delenv("V2A_DEBUG", raising=False)
    zoo = zoo_models_toml.parent
    for block in fenced_blocks(page):
        if block.lang not in RUN_LANGS:
            continue
        work = tmp_path / f"block-{block.line}"
        shutil.copytree(placeholder_media, work, symlinks=True)
        home = work / "home"
        monkeypatch.chdir(work)
        monkeypatch.setenv("HOME", str(home))
        for command in shell_commands(block):
            args = v2a_part(command)
            if command.text in FOREIGN:
                if args is not None and "..." not in args:
                    parse_v2a(shell_words(args, home, zoo))
                continue
            assert command.tokens[0] == "v2a", (
                f"{command.where()}\n  is a command this test does not know: make it a `v2a` command it can run, "
                "or list it in FOREIGN (tests/test_doc_examples.py) with the reason it cannot run here")
            if command.text in PLACEHOLDER:
                continue
            argv = shell_words(args, home, zoo)
            if command.text in PARSE_ONLY:
                parse_v2a(argv)
                continue
            argv += ADJUSTED.get(command.text, ([], ""))[0] + fewer_steps(argv)
            code, out, err = run_v2a(argv, capsys)
            assert code == 0, f"{command.where()}\n  exit {code}\n  stderr: {err.strip()}"
            for flag, value in zip(argv, argv[1:]):
                if flag in OUTPUT_FLAGS and not value.startswith("-"):
                    assert Path(value).exists(), f"{command.where()}\n  {flag} {value} was not written"


def test_every_fenced_block_says_what_it_is():
    untagged = [f"{page_id(b.page)}:{b.line}" for b in all_blocks() if b.lang not in RUN_LANGS | NOT_RUN_LANGS]
    assert not untagged, ("fenced blocks without a known language (```bash: commands this test runs; "
                          f"```text: listings and synopses; ```python; ```toml): {untagged}")


def test_every_listed_command_is_still_in_the_docs():
    """The tables above name only commands the docs still have (a stale entry would hide a new command)."""
    written = {c.text for b in all_blocks() if b.lang in RUN_LANGS for c in shell_commands(b)}
    stale = sorted(set(FOREIGN) | set(PARSE_ONLY) | set(PLACEHOLDER) | set(ADJUSTED))
    assert [text for text in stale if text not in written] == []


def test_every_flag_the_docs_name_is_an_option_of_v2a():
    import typer.main

    from v2a_cli.cli import app
    from v2a_cli.cli.params import command_tree, prepare_commands

    group = prepare_commands(typer.main.get_command(app))
    known = {opt for param in group.params for opt in getattr(param, "opts", [])}
    for _, command in command_tree(group):
        known |= {opt for param in command.params for opt in [*param.opts, *getattr(param, "secondary_opts", [])]}
    known.add("--help")
    bench = " ".join(path.read_text() for path in (ROOT / "bench").iterdir() if path.suffix in (".py", ".sh"))
    unknown = []
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9_-]*[a-z0-9]", line):
                in_bench = re.search(re.escape(flag) + r"(?![\w-])", bench) is not None
                if flag not in known and flag not in FOREIGN_FLAGS and not in_bench:
                    unknown.append(f"{page_id(page)}:{number}: {flag}")
    assert unknown == [], f"flags in the docs that no v2a command has: {unknown}"


def test_the_python_examples_import_what_they_name():
    """The imports of every ```python block run (a renamed or moved name fails here)."""
    for block in all_blocks():
        if block.lang != "python":
            continue
        imports = "\n".join(line for line in block.body.splitlines()
                            if re.match(r"\s*(from \S+ )?import ", line) and "v2a_cli" in line)
        exec(compile(imports, f"{page_id(block.page)}:{block.line}", "exec"), {})
