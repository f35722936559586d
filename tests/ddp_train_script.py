"""Run by test_ddp.py under torchrun: trains a tiny model data-parallel and saves each rank's weights."""

import os
import sys

import numpy as np
import torch

import polymodal
from polymodal.models.logmel_cnn.configuration import LogMelClassifierConfig
from polymodal.models.logmel_cnn.modeling import LogMelClassifierForSequenceClassification


def main(out_dir: str) -> None:
    torch.manual_seed(0)
    model = LogMelClassifierForSequenceClassification(
        LogMelClassifierConfig(num_mel_bins=8, conv_dim=[8, 8], conv_kernel=[3, 3], conv_stride=[2, 2], num_labels=3,
                               spec_augment=False))
    rng = np.random.default_rng(0)
    data = [{"input_features": rng.standard_normal((8, 20)).astype(np.float32), "label": i % 3} for i in range(16)]
    args = polymodal.TrainingArguments(output_dir=out_dir, per_device_train_batch_size=2, max_steps=3,
                                       learning_rate=1e-2, save_strategy="no", disable_tqdm=True, logging_steps=1)
    polymodal.Trainer(model=model, args=args, train_dataset=data).train()
    from safetensors.torch import save_file

    rank = int(os.environ["RANK"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out_dir, f"rank{rank}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
