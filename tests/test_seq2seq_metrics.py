"""polymodal.metrics.load('rouge' | 'sacrebleu'): evaluate's keys and numbers on rouge-score / sacrebleu."""

from __future__ import annotations

import numpy as np
import pytest

from polymodal import metrics
from polymodal.core.errors import InvalidInputError

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
sacrebleu = pytest.importorskip("sacrebleu")

PREDICTIONS = ["the cat sat on the mat", "a quick brown fox jumps", "hello there general kenobi"]
REFERENCES = ["the cat is on the mat", "the quick brown fox jumped over", "hello there general kenobi"]


def test_rouge_documented_example_and_per_sample():
    rouge = metrics.load("rouge")
    assert rouge.compute(predictions=["hello there", "general kenobi"],
                         references=["hello there", "general kenobi"]) == {
        "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0}
    per_sample = rouge.compute(predictions=PREDICTIONS, references=REFERENCES, use_aggregator=False)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"])
    for key in per_sample:
        assert per_sample[key] == [scorer.score(r, p)[key].fmeasure for r, p in zip(REFERENCES, PREDICTIONS)]


def test_rouge_aggregate_is_bootstrap_mid():
    from rouge_score import scoring

    np.random.seed(0)
    ours = metrics.load("rouge").compute(predictions=PREDICTIONS, references=REFERENCES, rouge_types=["rouge1"],
                                         use_stemmer=True)
    np.random.seed(0)
    aggregator = scoring.BootstrapAggregator()
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    for r, p in zip(REFERENCES, PREDICTIONS):
        aggregator.add_scores(scorer.score(r, p))
    assert ours == {"rouge1": aggregator.aggregate()["rouge1"].mid.fmeasure}
    multi = metrics.load("rouge").compute(predictions=["a b c"], references=[["a b c", "x y"]], rouge_types=["rouge1"])
    assert multi == {"rouge1": 1.0}
    split = metrics.load("rouge").compute(predictions=["ab"], references=["a b"], tokenizer=list, rouge_types=["rouge1"])
    assert split["rouge1"] == pytest.approx(0.8)


def test_sacrebleu_documented_example_and_corpus():
    bleu = metrics.load("sacrebleu")
    result = bleu.compute(predictions=["hello there general kenobi", "foo bar foobar"],
                          references=[["hello there general kenobi", "hello there !"],
                                      ["foo bar foobar", "foo bar foobar"]])
    assert list(result) == ["score", "counts", "totals", "precisions", "bp", "sys_len", "ref_len"]
    assert round(result["score"], 1) == 100.0
    result = bleu.compute(predictions=PREDICTIONS, references=REFERENCES)
    expected = sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES])
    assert result["score"] == expected.score and result["counts"] == expected.counts
    bleu.add_batch(predictions=PREDICTIONS, references=[[r] for r in REFERENCES])
    assert bleu.compute()["score"] == expected.score


def test_bad_input():
    with pytest.raises(InvalidInputError, match="same length"):
        metrics.load("sacrebleu").compute(predictions=["a"], references=["a", "b"])
    with pytest.raises(InvalidInputError, match="same number of references"):
        metrics.load("sacrebleu").compute(predictions=["a", "b"], references=[["a"], ["b", "c"]])
    with pytest.raises(InvalidInputError, match="batch_decode"):
        metrics.load("rouge").compute(predictions=[[1, 2]], references=["a"])
    assert {"rouge", "sacrebleu"} <= set(metrics.list_metrics())
