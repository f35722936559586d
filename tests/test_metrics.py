"""Offline metrics with evaluate-like calls."""

import numpy as np
import pytest

import polymodal
from polymodal.core.errors import InvalidInputError


def test_accuracy():
    acc = polymodal.metrics.load("accuracy")
    assert acc.compute(predictions=[0, 1, 2, 2], references=[0, 1, 1, 2]) == {"accuracy": 0.75}
    assert acc.compute(predictions=[0, 1], references=[0, 0], normalize=False) == {"accuracy": 1.0}
    assert acc.compute(predictions=[0, 1], references=[0, 0], sample_weight=[3, 1]) == {"accuracy": 0.75}
    acc.add_batch(predictions=[1, 1], references=[1, 0])
    assert acc.compute() == {"accuracy": 0.5}


def test_f1_averages():
    f1 = polymodal.metrics.load("f1")
    p, r = [0, 1, 1, 0, 1], [0, 1, 0, 0, 1]
    assert f1.compute(predictions=p, references=r)["f1"] == pytest.approx(0.8)  # binary, pos_label=1
    p3, r3 = [0, 1, 2, 2, 1, 0], [0, 2, 2, 2, 1, 1]
    per_class = f1.compute(predictions=p3, references=r3, average=None)["f1"]
    np.testing.assert_allclose(per_class, [2 / 3, 0.5, 0.8])
    assert f1.compute(predictions=p3, references=r3, average="macro")["f1"] == pytest.approx(np.mean(per_class))
    assert f1.compute(predictions=p3, references=r3, average="micro")["f1"] == pytest.approx(4 / 6)
    weighted = (2 / 3 * 1 + 0.5 * 2 + 0.8 * 3) / 6
    assert f1.compute(predictions=p3, references=r3, average="weighted")["f1"] == pytest.approx(weighted)


def test_wer_cer_return_floats_like_evaluate():
    wer = polymodal.metrics.load("wer")
    assert wer.compute(predictions=["hello world", "a b c"], references=["hello there world", "a b c"]) == pytest.approx(1 / 6)
    cer = polymodal.metrics.load("cer")
    assert cer.compute(predictions=["abd"], references=["abc"]) == pytest.approx(1 / 3)


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="same length"):
        polymodal.metrics.load("accuracy").compute(predictions=[1, 2], references=[1])
    with pytest.raises(InvalidInputError, match="string"):
        polymodal.metrics.load("wer").compute(predictions=[1], references=["a"])
    with pytest.raises(InvalidInputError, match="Unknown metric"):
        polymodal.metrics.load("bleu")
    with pytest.raises(InvalidInputError, match="empty"):
        polymodal.metrics.load("accuracy").compute(predictions=[], references=[])
