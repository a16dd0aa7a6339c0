"""Moved to `v2a_cli.audioldm.schedulers`; kept importable here."""

from v2a_cli.audioldm.schedulers import *  # noqa: F401,F403
from v2a_cli.audioldm.schedulers import FOLDER_SCHEDULERS, SCHEDULERS, build_scheduler, scheduler_class  # noqa: F401
