"""Data-parallel training: the same script under torchrun with 2 CPU processes (gloo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file


def test_two_processes_end_with_identical_weights(tmp_path):
    script = Path(__file__).with_name("ddp_train_script.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
           str(tmp_path)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    assert a.keys() == b.keys()
    # Parameters must agree bit for bit. (Batch-norm running statistics are buffers that DDP syncs from
    # rank 0 at the start of each forward, so after the last step each rank holds its own.)
    for key in (k for k in a if "running_" not in k and "num_batches" not in k):
        torch.testing.assert_close(a[key], b[key], atol=0, rtol=0, msg=key)
    # Each rank saw different examples, yet gradients were averaged: the model did move.
    torch.manual_seed(0)
    from polymodal.models.logmel_cnn.configuration import LogMelClassifierConfig
    from polymodal.models.logmel_cnn.modeling import LogMelClassifierForSequenceClassification

    init = LogMelClassifierForSequenceClassification(LogMelClassifierConfig(
        num_mel_bins=8, conv_dim=[8, 8], conv_kernel=[3, 3], conv_stride=[2, 2], num_labels=3, spec_augment=False))
    assert not torch.equal(init.classifier.weight, a["classifier.weight"])
