"""What the root command (`v2a --models M --quiet ...`) hands every command: `GlobalOptions` on the
click context. Its own module so that cli/app.py and cli/params.py both read it without importing
each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class GlobalOptions:
    models: Optional[str] = None  # models TOML (else $V2A_MODELS, else defaults)
    quiet: bool = False


def global_options(ctx: Any) -> GlobalOptions:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()
