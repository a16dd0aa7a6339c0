"""torchrun for the inference commands (`v2a generate`, `v2a eval`): which inputs a process takes, its
device, and a small CPU (gloo) group to gather the ranks' reports at the end.

    torchrun --nproc_per_node 4 -m v2a_cli generate clips/ -d out/

Inputs are sharded by rank (item i goes to rank i % world_size), each rank writes its own outputs, and
rank 0 prints the summary. The sharding depends only on the input list, so a restarted job takes the
same shares (with `--skip-existing` it continues where it stopped). This is the one reading of
torchrun's RANK / WORLD_SIZE / LOCAL_RANK: extraction (training/extract.py) shards with it, training
(training/train.py) joins its DDP group with it and `v2a train` reports on the main rank only.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence, TypeVar

from v2a_cli.errors import V2AError

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    rank: int = 0  # this process (torchrun's RANK)
    world_size: int = 1  # processes in the job (WORLD_SIZE)
    local_rank: int = 0  # this process on its machine (LOCAL_RANK): which GPU it uses

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's share: items rank, rank + world_size, ..."""
        return list(items[self.rank::self.world_size])

    def device(self, name: str) -> str:
        """--device for this process: plain "cuda" / "auto" on CUDA means this rank's own GPU."""
        from v2a_cli.device import device_for_rank

        return str(device_for_rank(name, self.local_rank if self.distributed else None))


def current_ranks(rank: int | None = None, world_size: int | None = None) -> Ranks:
    """From torchrun's environment (explicit `rank` / `world_size` win); (0, 1) in a plain process.
    Inside a running torch.distributed group its own rank and size are used."""
    try:
        group = _running_group()
        env_rank, env_world = group if group is not None else (int(os.environ.get("RANK", 0)),
                                                                int(os.environ.get("WORLD_SIZE", 1)))
        rank = env_rank if rank is None else rank
        world_size = env_world if world_size is None else world_size
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
    except ValueError as exc:
        raise V2AError(f"RANK / WORLD_SIZE / LOCAL_RANK must be whole numbers ({exc})") from exc
    if world_size < 1 or not 0 <= rank < world_size:
        raise V2AError(f"rank {rank} of world size {world_size}: need 0 <= rank < world_size")
    return Ranks(rank, world_size, local_rank)


def _running_group() -> tuple[int, int] | None:
    """(rank, world size) of an initialised torch.distributed group; None without one (torch not imported)."""
    import sys

    if "torch.distributed" not in sys.modules:
        return None
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


def is_main_process() -> bool:
    """Whether this process reports (rank 0, or no torchrun)."""
    return current_ranks().is_main


@contextlib.contextmanager
def process_group(ranks: Ranks) -> Iterator[None]:
    """A gloo group for the end-of-run gather (CPU only: the models never communicate). On a normal
    exit every rank waits for the others before the group is torn down (a rank leaving while another
    still uses the group can abort in gloo's teardown)."""
    if not ranks.distributed:
        yield
        return
    import torch.distributed as dist

    dist.init_process_group(backend="gloo", rank=ranks.rank, world_size=ranks.world_size)
    try:
        yield
        dist.barrier()
    finally:
        dist.destroy_process_group()


def gather(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's `value`, in rank order (all ranks get the list)."""
    if not ranks.distributed:
        return [value]
    import torch.distributed as dist

    values: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(values, value)
    return values
