"""Data-parallel training under ``torchrun`` (DDP: gloo on CPU, NCCL on GPU).

Nothing here runs unless the launcher set ``WORLD_SIZE`` > 1, so single-process training has
no distributed code path at all.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def setup(args) -> None:
    if int(os.environ.get("WORLD_SIZE", 1)) <= 1 or dist.is_initialized():
        return
    backend = args.ddp_backend or ("nccl" if torch.cuda.is_available() and not args.use_cpu else "gloo")
    dist.init_process_group(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DDP-wrap the model when running distributed; otherwise return it unchanged."""
    if world_size() <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=True)


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()
