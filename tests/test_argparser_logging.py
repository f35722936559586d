"""HfArgumentParser (against Transformers' parser on the same dataclasses), set_seed, polymodal.logging."""

import dataclasses
import json
import logging as std_logging
import os
import random
import subprocess
import sys
from enum import Enum
from typing import Literal, Optional

import numpy as np
import pytest
import torch

import polymodal
from polymodal.core.errors import ConfigError
from polymodal.train.argparser import HfArg, HfArgumentParser

transformers = pytest.importorskip("transformers")


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class ModelArguments:
    model_name_or_path: str = dataclasses.field(metadata={"help": "Checkpoint folder or hub id."})
    dropout: float = 0.1
    layers: int = 2
    freeze: bool = False
    use_fast: bool = True
    cache_dir: Optional[str] = None
    max_length: Optional[int] = None
    flag_or_none: Optional[bool] = None
    sizes: list[int] = dataclasses.field(default_factory=lambda: [1, 2])
    color: Color = Color.RED
    mode: Literal["train", "eval", 3] = "train"


@dataclasses.dataclass
class DataArguments:
    dataset_name: str = dataclasses.field(default="minds14", metadata={"aliases": ["-d"]})
    max_samples: Optional[int] = None
    languages: Optional[list[str]] = None


COMMAND_LINES = [
    ["--model_name_or_path", "m"],
    ["--model-name-or-path", "m", "--dropout", "0.3", "--layers", "4", "--freeze", "--no_use_fast"],
    ["--model_name_or_path", "m", "--freeze", "false", "--use_fast", "no", "--cache_dir", "/tmp/c",
     "--max_length", "16", "--flag_or_none", "true", "--sizes", "3", "4", "5", "--color", "blue", "--mode", "3"],
    ["--model_name_or_path", "m", "-d", "common_voice", "--max_samples", "10", "--languages", "ja", "en",
     "--no-use-fast", "--mode", "eval"],
]


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=lambda a: " ".join(a[2:]) or "defaults")
def test_parses_like_transformers(argv):
    ours = HfArgumentParser((ModelArguments, DataArguments)).parse_args_into_dataclasses(argv, look_for_args_file=False)
    theirs = transformers.HfArgumentParser((ModelArguments, DataArguments)).parse_args_into_dataclasses(
        argv, look_for_args_file=False)
    assert ours == theirs


def test_errors_remaining_strings_and_help():
    parser = HfArgumentParser(ModelArguments)
    with pytest.raises(ConfigError, match="not used by the HfArgumentParser"):
        parser.parse_args_into_dataclasses(["--model_name_or_path", "m", "--bogus", "1"], look_for_args_file=False)
    model_args, rest = parser.parse_args_into_dataclasses(["--model_name_or_path", "m", "--bogus", "1"],
                                                          return_remaining_strings=True, look_for_args_file=False)
    assert model_args.model_name_or_path == "m" and rest == ["--bogus", "1"]
    assert "Checkpoint folder or hub id." in parser.format_help()
    with pytest.raises(SystemExit):  # argparse: a required field is missing
        parser.parse_args_into_dataclasses([], look_for_args_file=False)


def test_dict_json_yaml_and_args_files(tmp_path):
    values = {"model_name_or_path": "m", "dropout": 0.2, "sizes": [7], "dataset_name": "x", "max_samples": 3}
    (tmp_path / "a.json").write_text(json.dumps(values))
    import yaml

    (tmp_path / "a.yaml").write_text(yaml.safe_dump(values))
    for lib in (polymodal, transformers):
        parser = lib.HfArgumentParser((ModelArguments, DataArguments))
        expected = (ModelArguments("m", dropout=0.2, sizes=[7]), DataArguments("x", max_samples=3))
        assert parser.parse_dict(values) == expected
        assert parser.parse_json_file(tmp_path / "a.json") == expected
        assert parser.parse_yaml_file(tmp_path / "a.yaml") == expected
        with pytest.raises(ValueError, match="not used"):
            parser.parse_dict({**values, "typo_key": 1})
        assert parser.parse_dict({**values, "typo_key": 1}, allow_extra_keys=True) == expected
    (tmp_path / "run.args").write_text("--model_name_or_path from_file --layers 7")
    parsed, = HfArgumentParser(ModelArguments).parse_args_into_dataclasses(
        ["--layers", "9"], args_filename=tmp_path / "run.args")
    assert (parsed.model_name_or_path, parsed.layers) == ("from_file", 9)  # the command line wins
    (tmp_path / "more.args").write_text("--dropout 0.5")
    parsed, = HfArgumentParser(ModelArguments).parse_args_into_dataclasses(
        ["--model_name_or_path", "m", "--cfg", str(tmp_path / "more.args")], look_for_args_file=False,
        args_file_flag="--cfg")
    assert parsed.dropout == 0.5


def test_training_arguments_from_the_command_line(tmp_path):
    argv = ["--output_dir", str(tmp_path), "--learning_rate", "1e-4", "--eval_strategy", "epoch", "--bf16",
            "--label_names", "labels", "--lr_scheduler_type", "cosine_with_restarts",
            "--lr_scheduler_kwargs", '{"num_cycles": 2}', "--report_to", "none", "--num_train_epochs", "2"]
    args, = HfArgumentParser(polymodal.TrainingArguments).parse_args_into_dataclasses(argv, look_for_args_file=False)
    assert args.learning_rate == 1e-4 and args.eval_strategy == "epoch" and args.bf16
    assert args.label_names == ["labels"] and args.lr_scheduler_kwargs == {"num_cycles": 2}
    assert args.num_train_epochs == 2.0
    with pytest.raises(SystemExit):
        HfArgumentParser(polymodal.TrainingArguments).parse_args_into_dataclasses(
            ["--lr_scheduler_kwargs", "{not json"], look_for_args_file=False)


def test_hfarg_field_helper():
    @dataclasses.dataclass
    class Small:
        name: str = HfArg(default="a", aliases=["-n"], help="The name.")

    parsed, = HfArgumentParser(Small).parse_args_into_dataclasses(["-n", "b"], look_for_args_file=False)
    assert parsed.name == "b" and "The name." in HfArgumentParser(Small).format_help()


def test_set_seed_and_full_determinism():
    def draws():
        return random.random(), float(np.random.rand()), float(torch.rand(()))

    polymodal.set_seed(7)
    first = draws()
    polymodal.set_seed(7)
    assert draws() == first
    was = torch.are_deterministic_algorithms_enabled()
    try:
        polymodal.enable_full_determinism(7)
        assert torch.are_deterministic_algorithms_enabled() and draws() == first
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
    finally:
        torch.use_deterministic_algorithms(was)
        torch.backends.cudnn.deterministic = False


@pytest.fixture
def plog():
    from polymodal import logging as plog

    plog._reset()
    yield plog
    plog._reset()


def test_verbosity_setters_and_handlers(plog):
    assert plog.get_verbosity() == plog.WARNING
    records = []
    handler = std_logging.Handler()
    handler.emit = records.append
    plog.add_handler(handler)
    logger = plog.get_logger("polymodal.train.trainer")
    logger.info("hidden")
    plog.set_verbosity_info()
    assert plog.get_verbosity() == plog.INFO == 20
    logger.info("shown")
    plog.set_verbosity_debug()
    assert plog.get_verbosity() == plog.DEBUG
    plog.set_verbosity_error()
    logger.warning("hidden too")
    plog.set_verbosity_warning()
    logger.warning_once("once")
    logger.warning_once("once")
    plog.remove_handler(handler)
    assert [r.getMessage() for r in records] == ["shown", "once"]
    plog.disable_default_handler()
    plog.enable_default_handler()
    plog.enable_explicit_format()
    plog.reset_format()
    plog.disable_progress_bar()
    assert not plog.is_progress_bar_enabled()
    plog.enable_progress_bar()
    with pytest.raises(ValueError, match="set_verbosity"):
        plog.set_verbosity("loud")


def test_environment_variables():
    code = ("from polymodal.utils import logging; l = logging.get_logger(); print(logging.get_verbosity()); "
            "l.warning_advice('advice'); l.info('info line')")
    env = {**os.environ, "POLYMODAL_VERBOSITY": "info", "POLYMODAL_NO_ADVISORY_WARNINGS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "20"
    assert "info line" in out.stderr and "advice" not in out.stderr
    env = {**os.environ, "POLYMODAL_VERBOSITY": "error"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "40" and "advice" not in out.stderr
