"""The polymodal Trainer under Ray Train (``TorchTrainer``): data-parallel on a Ray cluster.

Ray Train starts ``num_workers`` processes, sets up their torch process group (gloo on CPU,
NCCL on GPU) and the ``RANK`` / ``WORLD_SIZE`` variables; inside each, the polymodal Trainer finds
the group already initialised, wraps the model in DDP and gives each rank its interleaved share of
every global batch — the same path as ``torchrun``. With ``per_device_train_batch_size=B`` on N
workers the run ends with the weights of a single-process run at batch ``N × B``.

``make_trainer`` is a zero-argument function (picklable: defined at module level) that builds
the model, datasets and ``Trainer`` inside each worker. Rank 0 saves the final model to
``output_dir`` (on a multi-node cluster, a path every node can write, or cloud storage mounted
at the same place).
"""

from __future__ import annotations

from collections.abc import Callable


def _worker(config: dict) -> None:
    trainer = config["make_trainer"]()
    trainer.train()
    if config["output_dir"]:
        # Every rank calls save_model: rank 0 writes, and all meet at its barrier.
        trainer.save_model(config["output_dir"])


def train_on_ray(make_trainer: Callable, num_workers: int = 2, use_gpu: bool = False, output_dir: str | None = None,
                 resources_per_worker: dict | None = None, storage_path: str | None = None):
    """Run ``make_trainer().train()`` on ``num_workers`` Ray Train workers; returns Ray's ``Result``."""
    try:
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer
    except ImportError:
        from ..core.errors import ConfigError

        raise ConfigError("Ray Train is not installed; pip install 'polymodal[ray]'.") from None
    scaling = ScalingConfig(num_workers=num_workers, use_gpu=use_gpu,
                            resources_per_worker=resources_per_worker or {"CPU": 0.5})
    trainer = TorchTrainer(_worker, train_loop_config={"make_trainer": make_trainer, "output_dir": output_dir},
                           scaling_config=scaling, torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
                           run_config=RunConfig(storage_path=storage_path))
    return trainer.fit()
