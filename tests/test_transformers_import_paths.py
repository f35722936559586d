"""Transformers' module paths for the Trainer API (``transformers.optimization``,
``transformers.trainer_callback``, …) exist in polymodal, name the same objects as the top-level
API, and every name they hold is a name Transformers' module has too."""

from __future__ import annotations

import importlib

import pytest
import transformers.trainer_utils

import polymodal

PATHS = ["optimization", "trainer_callback", "trainer_utils", "integrations", "hf_argparser", "training_args",
         "training_args_seq2seq", "data", "data.data_collator"]
# Named by the seed docs' data_collator.md, gone from Transformers 5's module.
SEED_ONLY = {"DataCollatorForWholeWordMask"}


@pytest.mark.parametrize("path", PATHS)
def test_module_path_mirrors_transformers(path):
    ours = importlib.import_module(f"polymodal.{path}")
    theirs = importlib.import_module(f"transformers.{path}")
    assert ours.__all__
    for name in ours.__all__:
        value = getattr(ours, name)
        assert hasattr(theirs, name) or name in SEED_ONLY, f"transformers.{path} has no {name}"
        if name in dir(polymodal) or name in getattr(polymodal, "__all__", ()):
            assert getattr(polymodal, name) is value, name


def test_callback_module_written_for_transformers_runs():
    source = '''
from polymodal.trainer_callback import TrainerCallback, TrainerControl, TrainerState
from polymodal.trainer_utils import IntervalStrategy


class StopAfter(TrainerCallback):
    def __init__(self, steps):
        self.steps = steps

    def on_step_end(self, args, state: TrainerState, control: TrainerControl, **kwargs):
        if state.global_step >= self.steps:
            control.should_training_stop = True
        return control
'''
    namespace: dict = {}
    exec(compile(source, "callback_module", "exec"), namespace)
    state, control = polymodal.TrainerState(global_step=3), polymodal.TrainerControl()
    namespace["StopAfter"](3).on_step_end(None, state, control)
    assert control.should_training_stop


def test_get_last_checkpoint_like_transformers(tmp_path):
    from polymodal.trainer_utils import get_last_checkpoint

    assert get_last_checkpoint(str(tmp_path)) is None is transformers.trainer_utils.get_last_checkpoint(str(tmp_path))
    for step in (2, 10, 3):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-20").write_text("a file, not a checkpoint")
    (tmp_path / ".checkpoint-30.tmp-1").mkdir()
    (tmp_path / "checkpoint-10-old").mkdir()
    expected = transformers.trainer_utils.get_last_checkpoint(str(tmp_path))
    assert get_last_checkpoint(str(tmp_path)) == expected == str(tmp_path / "checkpoint-10")
    # A save killed before trainer_state.json was written cannot be resumed from: skipped.
    (tmp_path / "checkpoint-12").mkdir()
    assert get_last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-10")
    with pytest.raises(FileNotFoundError, match="output_dir"):
        get_last_checkpoint(str(tmp_path / "missing"))
