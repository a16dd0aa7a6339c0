"""Numeric option checks shared by every command and by the library: finite, and inside a declared range.

One table, `RANGES`, names the valid range of each numeric option by its Python parameter name (an
option means one thing in every command). The CLI checks every numeric parameter of every command
against it while parsing, before any command code runs (`v2a_cli/cli/params.py`); the library checks
the same table in `GenerateOptions.validate()` and `TrainConfig`. A new numeric option gets a line here:

    RANGES["overlap"] = Range(0, 60)                 # seconds, 0 and 60 allowed
    RANGES["train:seed"] = Range(0, MAX_SEED)        # this command's own meaning wins over the plain name

A `tests/cli/test_numeric_options.py` property test feeds every numeric option of every command NaN,
inf, negative, zero and huge values, and fails for an option missing from this table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from v2a_cli.errors import V2AError

MAX_SEED = 2**32 - 1  # numpy's limit; torch takes more, but a seed must mean the same everywhere
MAX_CANDIDATES = 16  # --candidates: sounds generated per output to keep the best of
RANDOM_SEED = -1  # --seed -1: a random seed, printed (and recorded) so the run can be repeated


@dataclass(frozen=True)
class Range:
    """Valid values of one numeric option. Non-finite values (NaN, inf) are never valid."""

    low: float | None = None  # smallest valid value (None: no lower bound)
    high: float | None = None  # largest valid value (None: no upper bound, only finite)
    low_open: bool = False  # True: `low` itself is not valid (e.g. "more than 0")
    high_open: bool = False  # True: `high` itself is not valid
    special: tuple[float, ...] = ()  # values valid outside the range (e.g. -1 = random seed)
    note: str = ""  # what a special value means, appended to the message

    def contains(self, value: float) -> bool:
        if value in self.special:
            return True
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True

    def describe(self) -> str:
        """'at least 1', 'more than 0', 'from 0 to 1', 'a finite number', ..."""
        low, high = _fmt(self.low), _fmt(self.high)
        if self.low is not None and self.high is not None:
            if not self.low_open and not self.high_open:
                text = f"from {low} to {high}"
            else:
                text = f"{'more than' if self.low_open else 'at least'} {low} and " \
                       f"{'less than' if self.high_open else 'at most'} {high}"
        elif self.low is not None:
            text = f"{'more than' if self.low_open else 'at least'} {low}"
        elif self.high is not None:
            text = f"{'less than' if self.high_open else 'at most'} {high}"
        else:
            text = "a finite number"
        return text + (f" ({self.note})" if self.note else "")


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


MIN_DURATION = 0.01  # seconds of sound: the shortest sound a command writes

# Python parameter name (or "command:name" for a command whose option differs) -> valid range.
RANGES: dict[str, Range] = {
    # generation (generate, compose, interpolate; GenerateOptions fields)
    "steps": Range(1, 10_000),
    "denoise_steps": Range(1, 10_000),
    "guidance": Range(0, 100),
    "mapper_guidance": Range(0, 100),
    # At least 10 ms (160 samples at 16 kHz): below, a WAV of no samples at all was written.
    "duration": Range(MIN_DURATION, 86_400),  # any length (windowed and joined); a day at most
    "start": Range(0, 86_400),  # generate: seconds into the video
    "end": Range(0, 86_400, low_open=True),
    "overlap": Range(0, 5),  # seconds shared by consecutive windows (at most half a 10.24 s window)
    "scene_threshold": Range(0, 2, low_open=True, high_open=True),  # a cosine distance
    "mapper_steps": Range(1, 10_000),
    "mix_original": Range(0, 1),
    "seed": Range(0, MAX_SEED, special=(RANDOM_SEED,), note="-1: a random seed, printed"),
    "variations": Range(1, 1000),
    "prompt_weight": Range(0, 1),
    "fps": Range(0, 1000, low_open=True),
    "max_seconds": Range(0, low_open=True),
    "min_seconds": Range(0),
    "bridge_top_k": Range(1, 10_000),
    "bridge_temperature": Range(0, 100, low_open=True),
    "batch_size": Range(1, 1_000_000),
    "eta": Range(0, 1),
    "candidates": Range(1, MAX_CANDIDATES),
    "var_samples": Range(1, 4096),
    "cycle_its": Range(0, 4096),
    "cycle_samples": Range(1, 4096),
    "max_sources": Range(0, 64),
    "detect_threshold": Range(0, 1, high_open=True),
    "crossfade": Range(0, 60),
    "interpolate:points": Range(2, 1000),
    # eval
    "audio_length": Range(0, 86_400, low_open=True),  # av-benchmark suite: seconds scored from the start
    # extract
    "shard_size": Range(1, 1_000_000),
    "workers": Range(0, 256),
    # app (web page)
    "port": Range(1, 65535),
    "max_upload_mb": Range(0, 1_000_000, low_open=True),
    # train
    "train:seed": Range(0, MAX_SEED),
    "val_fraction": Range(0, 0.5, high_open=True),
    "epochs": Range(1, 1_000_000),
    "lr": Range(0, 1, low_open=True),
    "depth": Range(1, 256),
    "expansion": Range(1, 64),
    "heads": Range(1, 256),
    "dim_head": Range(1, 4096),
    "ff_mult": Range(1, 64),
}


def range_for(name: str, command: str | None = None) -> Range | None:
    """The declared range of parameter `name` (in `command`, whose own entry wins), or None."""
    if command is not None and f"{command}:{name}" in RANGES:
        return RANGES[f"{command}:{name}"]
    return RANGES.get(name)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def option_problem(value: float, valid: Range | None) -> str | None:
    """Why `value` is not valid (None when it is). Without a declared range: finite is enough."""
    if valid is None:
        return None if math.isfinite(value) else "must be a finite number"
    if valid.contains(value):
        return None
    return f"must be {valid.describe()}"


def check_option(name: str, value: float | None, *, command: str | None = None, flag: str | None = None,
                 valid: Range | None = None) -> None:
    """Raise a one-line V2AError when `value` (of option `name`) is not finite or outside its range.

    None (an optional option not given) is always valid. `valid` overrides the table.
    """
    if value is None or isinstance(value, bool):
        return
    problem = option_problem(value, valid if valid is not None else range_for(name, command))
    if problem:
        raise V2AError(f"{flag or flag_name(name)} {_shown(value)}: {problem}")


def _shown(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def check_options(obj: object, names: list[str] | tuple[str, ...] | None = None, *, command: str | None = None) -> None:
    """check_option for each numeric field of a dataclass (or the named ones) found in RANGES."""
    import dataclasses

    fields = names if names is not None else [f.name for f in dataclasses.fields(obj)]  # type: ignore[arg-type]
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if range_for(name, command) is not None or not math.isfinite(value):
                check_option(name, value, command=command)


def resolve_seed(seed: int) -> int:
    """--seed -1 -> a random seed in [0, 2**31); any other seed as given."""
    if seed != RANDOM_SEED:
        return seed
    import secrets

    return secrets.randbelow(2**31)
