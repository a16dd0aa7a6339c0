"""Diffusion schedulers by name, built from the generator folder's own scheduler config.

`"ddim"` is the repo's own (200 steps is what the paper and AudioLDM use); `"dpm"` (DPM-Solver++,
multistep) gives comparable results in about 25 steps; `"euler"` is a deterministic Euler sampler.
A fresh scheduler is built for every call: schedulers keep per-run state.
"""

from __future__ import annotations

import importlib
from typing import Any

from v2a_cli.errors import V2AError

# Name the user picks -> diffusers scheduler class.
SCHEDULERS: dict[str, str] = {
    "ddim": "DDIMScheduler",
    "dpm": "DPMSolverMultistepScheduler",
    "euler": "EulerDiscreteScheduler",
}

# Scheduler classes a generator folder's scheduler_config.json may name (`_class_name`).
FOLDER_SCHEDULERS: frozenset[str] = frozenset(
    {"DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "LMSDiscreteScheduler", "EulerDiscreteScheduler",
     "EulerAncestralDiscreteScheduler", "HeunDiscreteScheduler", "DPMSolverMultistepScheduler"}
)


def scheduler_class(class_name: str) -> type:
    return getattr(importlib.import_module("diffusers"), class_name)


def build_scheduler(name: str, folder_config: dict[str, Any]) -> Any:
    """The scheduler `name` ("ddim", "dpm", "euler") with the folder's noise schedule."""
    if name not in SCHEDULERS:
        raise V2AError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")
    return scheduler_class(SCHEDULERS[name]).from_config(folder_config)
