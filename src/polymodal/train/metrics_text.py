"""Text-generation metrics for summarisation and translation: ``rouge`` and ``sacrebleu``.

Both wrap the reference packages (``rouge-score``, ``sacrebleu``; ``pip install polymodal[metrics]``)
and return what ``evaluate.load("rouge" | "sacrebleu").compute(...)`` returns for the same
arguments, so guides written for ``evaluate`` read the same keys and numbers.
"""

from __future__ import annotations

from ..core.errors import InvalidInputError
from .metrics import Metric


def _require(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"This metric needs the {package!r} package: pip install {package} "
                          "(or pip install 'polymodal[metrics]').") from None


def _check_lengths(predictions, references) -> None:
    if len(predictions) != len(references):
        raise InvalidInputError(f"predictions and references must have the same length, got {len(predictions)} "
                                f"and {len(references)}.")
    if not predictions:
        raise InvalidInputError("predictions and references are empty.")
    if not all(isinstance(p, str) for p in predictions):
        raise InvalidInputError("predictions must be strings (decode generated ids with tokenizer.batch_decode).")


class Rouge(Metric):
    """ROUGE-1/2/L/Lsum F-measures; with ``use_aggregator=True`` (the default) the bootstrap median."""

    name = "rouge"

    def _compute(self, predictions, references, rouge_types=None, use_aggregator: bool = True,
                 use_stemmer: bool = False, tokenizer=None):
        rouge_scorer = _require("rouge_score.rouge_scorer", "rouge-score")
        scoring = _require("rouge_score.scoring", "rouge-score")
        predictions, references = list(predictions), list(references)
        _check_lengths(predictions, references)
        rouge_types = list(rouge_types or ["rouge1", "rouge2", "rougeL", "rougeLsum"])
        if tokenizer is not None:  # a callable text -> tokens, as evaluate accepts
            tokenizer = _CallableTokenizer(tokenizer)
        scorer = rouge_scorer.RougeScorer(rouge_types=rouge_types, use_stemmer=use_stemmer, tokenizer=tokenizer)
        multi_reference = isinstance(references[0], (list, tuple))
        scores = [scorer.score_multi(ref, pred) if multi_reference else scorer.score(ref, pred)
                  for ref, pred in zip(references, predictions)]
        if not use_aggregator:
            return {key: [score[key].fmeasure for score in scores] for key in rouge_types}
        aggregator = scoring.BootstrapAggregator()  # evaluate's choice (reports the bootstrap "mid")
        for score in scores:
            aggregator.add_scores(score)
        return {key: value.mid.fmeasure for key, value in aggregator.aggregate().items()}


class _CallableTokenizer:
    def __init__(self, function):
        self.function = function

    def tokenize(self, text):
        return self.function(text)


class SacreBleu(Metric):
    """Corpus BLEU with sacrebleu's standard tokenisation; each prediction may have several references."""

    name = "sacrebleu"

    def _compute(self, predictions, references, smooth_method: str = "exp", smooth_value=None, force: bool = False,
                 lowercase: bool = False, tokenize=None, use_effective_order: bool = False):
        sacrebleu = _require("sacrebleu", "sacrebleu")
        predictions, references = list(predictions), list(references)
        _check_lengths(predictions, references)
        if isinstance(references[0], str):
            references = [[reference] for reference in references]
        per_prediction = len(references[0])
        if any(len(refs) != per_prediction for refs in references):
            raise InvalidInputError("sacrebleu needs the same number of references for every prediction.")
        streams = [[refs[i] for refs in references] for i in range(per_prediction)]
        options = {"tokenize": tokenize} if tokenize else {}
        output = sacrebleu.corpus_bleu(predictions, streams, smooth_method=smooth_method, smooth_value=smooth_value,
                                       force=force, lowercase=lowercase, use_effective_order=use_effective_order,
                                       **options)
        return {"score": output.score, "counts": output.counts, "totals": output.totals,
                "precisions": output.precisions, "bp": output.bp, "sys_len": output.sys_len,
                "ref_len": output.ref_len}
