"""SSV2A's released model as a v2a mapper (`load_mapper` finds it by its files; see docs/sources.md)."""

from v2a_cli.mapper.ssv2a.model import SSV2AMapper, SSV2ASampling

__all__ = ["SSV2AMapper", "SSV2ASampling"]
