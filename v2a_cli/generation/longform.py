"""Moved: long sounds are planned in plan.py, conditioned in condition.py and sampled in sample.py.

These names stay importable from here for code written against the old module (issue #17).
"""

from v2a_cli.generation.condition import plan_sound, plan_source  # noqa: F401
from v2a_cli.generation.plan import (  # noqa: F401
    CUT_CROSSFADE_SECONDS, MIN_SCENE_SECONDS, WINDOW_SEED_STRIDE, PlannedSound, Soundtrack, Timeline, Window,
    continues, count_windows, detect_cuts, plan_timeline, window_frames, window_seed,
)
from v2a_cli.generation.sample import synthesize_sounds, synthesize_timeline  # noqa: F401
