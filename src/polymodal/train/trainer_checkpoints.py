"""What the Trainer writes and reads back: checkpoints (save, resume, best model, rotation), the
model and state files, metrics files, and uploads to the Hub."""

from __future__ import annotations

import logging
from pathlib import Path

from ..core.errors import CheckpointError, ConfigError
from ..core.hub import push_folder_to_hub
from . import checkpoint as ckpt
from . import distributed
from .state import ExportableState, TrainerState
from .trainer_utils import format_metrics_table, metrics_format, write_metrics

logger = logging.getLogger("polymodal")

# Never uploaded: checkpoint folders, half-written ones, private files; per-checkpoint training state.
_HUB_IGNORE = ["_*", "checkpoint-*/**", ".checkpoint-*/**"]
_STATE_FILES = (ckpt.TENSORS, ckpt.STATE_JSON, ckpt.TRAINER_STATE)


class CheckpointMixin:
    """Trainer methods for checkpoints, saved files and the Hub (mixed into ``Trainer``)."""

    def _resume_path(self, resume) -> Path | None:
        if resume in (None, False):
            return None
        if resume is True:
            found = ckpt.sorted_checkpoints(self.args.output_dir)
            if not found:
                raise CheckpointError(f"resume_from_checkpoint=True but '{self.args.output_dir}' has no checkpoint-N folder.")
            return found[-1]
        path = Path(resume)
        if not (path / ckpt.TRAINER_STATE).is_file():
            raise CheckpointError(f"'{path}' is not a complete Trainer checkpoint (no {ckpt.TRAINER_STATE}).")
        return path

    def _load_checkpoint(self, folder: Path, updates_per_epoch: int, batches_per_epoch: int) -> tuple[int, int]:
        from ..core.modeling import load_checkpoint_files

        weights = load_checkpoint_files(folder, allow_pickle=False, hub_kwargs={})
        self.model.load_state_dict(self.model._fix_checkpoint_keys(weights))
        saved = TrainerState.load_from_json(folder / ckpt.TRAINER_STATE)
        for key in ("global_step", "epoch", "best_metric", "best_global_step", "best_model_checkpoint",
                    "log_history", "total_flos", "num_input_tokens_seen"):
            setattr(self.state, key, getattr(saved, key))
        if self.args.restore_callback_states_from_checkpoint:
            self._restore_callback_states(saved.stateful_callbacks)
        # The RNG state is restored last, so nothing drawn while loading shifts the resumed run.
        meta = ckpt.load_training_state(folder, self.optimizer, self.lr_scheduler)
        self._total_loss = float(meta.get("total_loss", 0.0))
        step = self.state.global_step
        epoch = step // updates_per_epoch
        skip = (step % updates_per_epoch) * self.args.gradient_accumulation_steps
        logger.info("Resuming from %s at step %d (epoch %d, skipping %d batches).", folder, step, epoch, skip)
        return epoch, min(skip, batches_per_epoch)

    def _save_checkpoint(self) -> None:
        folder = Path(self.args.output_dir) / f"{ckpt.PREFIX}-{self.state.global_step}"
        best_step = self.state.best_global_step
        if best_step is not None:
            best = Path(self.args.output_dir) / f"{ckpt.PREFIX}-{best_step}"
            if best_step == self.state.global_step or best.is_dir():
                self.state.best_model_checkpoint = str(best)
        if distributed.is_main():
            self._record_callback_states()
            extra = {"total_loss": self._total_loss + self._interval_loss}
            ckpt.save_checkpoint(folder, self.model, self.optimizer, self.lr_scheduler, self.state.to_json_string(),
                                 extra, self.args.save_only_model, self.processing_class)
            self._push_checkpoint(folder)
            best = self.state.best_model_checkpoint
            ckpt.rotate_checkpoints(self.args.output_dir, self.args.save_total_limit, Path(best) if best else None)
        distributed.barrier()

    def _restore_callback_states(self, stored: dict) -> None:
        """Give each exportable callback (and the control) the settings and counters saved with the checkpoint."""
        seen: dict[str, int] = {}
        for callback in self.callbacks + [self.control]:
            name = type(callback).__name__
            if not isinstance(callback, ExportableState) or name not in stored:
                continue
            states = stored[name] if isinstance(stored[name], list) else [stored[name]]
            index = seen.get(name, 0)
            seen[name] = index + 1
            if index < len(states):
                for key, value in {**states[index]["args"], **states[index]["attributes"]}.items():
                    setattr(callback, key, value)

    def _record_callback_states(self) -> None:
        self.state.stateful_callbacks = {}
        for callback in self.callbacks + [self.control]:
            if isinstance(callback, ExportableState):
                self.state.record_callback(callback)

    def _determine_best_metric(self, metrics: dict) -> bool:
        name = self.args.metric_for_best_model
        if name is None:
            return False
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise ConfigError(f"metric_for_best_model={name!r} but evaluation returned only {sorted(metrics)}.")
        value, best = metrics[key], self.state.best_metric
        if best is None or (value > best if self.args.greater_is_better else value < best):
            self.state.best_metric = value
            if self.args.save_strategy != "no":
                self.state.best_global_step = self.state.global_step
            return True
        return False

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        output_dir = output_dir or self.args.output_dir
        if distributed.is_main():
            self.model.save_pretrained(output_dir)
            if self.processing_class is not None and hasattr(self.processing_class, "save_pretrained"):
                self.processing_class.save_pretrained(output_dir)
        distributed.barrier()

    def is_world_process_zero(self) -> bool:
        return distributed.is_main()

    def is_local_process_zero(self) -> bool:
        return distributed.is_main()

    def log_metrics(self, split: str, metrics: dict[str, float]) -> None:
        """Print ``metrics`` as an aligned table (``***** train metrics *****``) on the main process."""
        if self.is_world_process_zero():
            print(format_metrics_table(split, metrics))

    def save_metrics(self, split: str, metrics: dict[str, float], combined: bool = True) -> None:
        """Write ``<output_dir>/<split>_results.json`` (and merge into ``all_results.json``)."""
        if self.is_world_process_zero():
            write_metrics(self.args.output_dir, split, metrics, combined)

    @staticmethod
    def metrics_format(metrics: dict[str, float]) -> dict:
        return metrics_format(metrics)

    def save_state(self) -> None:
        """Write ``trainer_state.json`` into ``output_dir`` (Transformers' layout)."""
        if distributed.is_main():
            Path(self.args.output_dir).mkdir(parents=True, exist_ok=True)
            self.state.save_to_json(Path(self.args.output_dir) / ckpt.TRAINER_STATE)

    @property
    def hub_model_id(self) -> str:
        return self.args.hub_model_id or Path(self.args.output_dir).name

    def push_to_hub(self, commit_message: str | None = "End of training", blocking: bool = True,
                    token: str | None = None, revision: str | None = None, **kwargs) -> str:
        """Save the model (and processor) in ``output_dir`` and upload it to ``hub_model_id``.

        Needs ``huggingface_hub`` and network access; otherwise the files stay saved locally and
        ``HubUnavailableError`` says how to upload them later.
        """
        self.save_model()
        self._event("on_push_begin")
        if not distributed.is_main():
            return ""
        return push_folder_to_hub(self.args.output_dir, self.hub_model_id, commit_message=commit_message or "",
                                  token=token or self.args.hub_token, private=self.args.hub_private_repo,
                                  revision=revision, ignore_patterns=_HUB_IGNORE, what="Trainer.push_to_hub()")

    def _push_checkpoint(self, folder: Path) -> None:
        """hub_strategy='every_save': upload each saved model; a failed upload warns, training goes on."""
        if not self.args.push_to_hub or self.args.hub_strategy != "every_save" or self._hub_blocker is not None:
            return
        try:
            push_folder_to_hub(folder, self.hub_model_id, commit_message=f"Training in progress, step "
                               f"{self.state.global_step}", token=self.args.hub_token,
                               private=self.args.hub_private_repo, ignore_patterns=_HUB_IGNORE + list(_STATE_FILES))
        except Exception as exc:  # noqa: BLE001 - the network must not stop training
            logger.warning("Uploading %s to the Hub failed (%s: %s); training continues.", folder,
                           type(exc).__name__, exc)
