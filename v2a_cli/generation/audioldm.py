"""Moved to `v2a_cli.audioldm.generator` (the generator is a model, not orchestration); kept importable here."""

from v2a_cli.audioldm.generator import *  # noqa: F401,F403
from v2a_cli.audioldm.generator import AudioLDMGenerator, LATENT_RATE, MAX_DURATION  # noqa: F401
