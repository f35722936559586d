"""NLP pipelines against Transformers' pipelines (question answering: against the documented algorithm)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")

from pipeline_helpers import assert_batch_invariant  # noqa: E402
from text_helpers import NER_LABELS, NLI_LABELS, SENTIMENT, text_folder  # noqa: E402

import polymodal  # noqa: E402
from polymodal.core.errors import InvalidInputError  # noqa: E402

TEXTS = ["a photo of a cat", "Hello, world! How are you doing today?", "the weather is nice today",
         "Café déjà vu, naïve résumé", "two cats sleeping on a couch in the street with a dog"]


def close(a, b, atol=1e-4, where="result"):
    if isinstance(b, dict):
        assert isinstance(a, dict) and set(a) == set(b), f"{where}: {a} vs {b}"
        for key in b:
            close(a[key], b[key], atol, f"{where}.{key}")
    elif isinstance(b, (list, tuple)):
        assert isinstance(a, (list, tuple)) and len(a) == len(b), f"{where}: {a} vs {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, atol, f"{where}[{i}]")
    elif isinstance(b, (float, np.floating)):
        assert abs(float(a) - float(b)) <= atol, f"{where}: {a} vs {b}"
    elif isinstance(b, torch.Tensor):
        torch.testing.assert_close(a, b, atol=atol, rtol=1e-4)
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    make = tmp_path_factory.mktemp
    return {
        "cls-bert": text_folder(make("cls-bert"), "bert", labels=SENTIMENT),
        "cls-roberta": text_folder(make("cls-roberta"), "roberta", labels=SENTIMENT),
        "ner-bert": text_folder(make("ner-bert"), "bert", "ForTokenClassification", labels=NER_LABELS, seed=3),
        "ner-roberta": text_folder(make("ner-roberta"), "roberta", "ForTokenClassification", labels=NER_LABELS,
                                   seed=3),
        "mlm-bert": text_folder(make("mlm-bert"), "bert", "ForMaskedLM"),
        "mlm-roberta": text_folder(make("mlm-roberta"), "roberta", "ForMaskedLM"),
        "nli": text_folder(make("nli"), "bert", labels=NLI_LABELS, seed=1),
        "qa": text_folder(make("qa"), "bert", "ForQuestionAnswering", seed=2),
        "qa-roberta": text_folder(make("qa-roberta"), "roberta", "ForQuestionAnswering", seed=2),
        "distil-cls": text_folder(make("distil-cls"), "distilbert", labels=SENTIMENT),
    }


def both(task, folder, **kwargs):
    return polymodal.pipeline(task, model=str(folder), **kwargs), transformers.pipeline(task, model=str(folder),
                                                                                          **kwargs)


# --------------------------------------------------------------------------- text classification
@pytest.mark.parametrize("name", ["cls-bert", "cls-roberta", "distil-cls"])
def test_text_classification_matches(folders, name):
    ours, oracle = both("text-classification", folders[name])
    close(ours(TEXTS[0]), oracle(TEXTS[0]))
    close(ours(TEXTS), oracle(TEXTS))
    for options in ({"top_k": 2}, {"top_k": None}, {"function_to_apply": "sigmoid", "top_k": None},
                    {"function_to_apply": "none"}):
        close(ours(TEXTS, **options), oracle(TEXTS, **options))
        close(ours(TEXTS[1], **options), oracle(TEXTS[1], **options))
    pair = {"text": TEXTS[0], "text_pair": TEXTS[2]}
    close(ours(pair), oracle(pair))
    close(ours([pair, pair], top_k=None), oracle([pair, pair], top_k=None))


def test_key_pair_dataset_streams_like_transformers(folders):
    import datasets
    from transformers.pipelines.pt_utils import KeyPairDataset as TheirKeyPairDataset

    from polymodal.pipelines.pt_utils import KeyDataset, KeyPairDataset

    ours, oracle = both("text-classification", folders["nli"])
    table = datasets.Dataset.from_dict({"premise": TEXTS[:3], "hypothesis": TEXTS[1:4], "text": TEXTS[:3]})
    got = list(ours(KeyPairDataset(table, "premise", "hypothesis"), batch_size=2, top_k=None))
    close(got, list(oracle(TheirKeyPairDataset(table, "premise", "hypothesis"), batch_size=2, top_k=None)))
    close(got, ours([{"text": p, "text_pair": h} for p, h in zip(TEXTS[:3], TEXTS[1:4])], top_k=None))
    close(list(ours(KeyDataset(table, "text"))), ours(TEXTS[:3]))


def test_text_classification_batch_invariant_and_alias(folders):
    pipe = polymodal.pipeline("sentiment-analysis", model=str(folders["cls-bert"]))
    assert_batch_invariant(pipe, TEXTS, batch_size=3, top_k=None)


def test_text_classification_bad_inputs(folders):
    pipe = polymodal.pipeline("text-classification", model=str(folders["cls-bert"]))
    with pytest.raises(InvalidInputError, match="text_pair"):
        pipe([["first", "second"]])
    with pytest.raises(InvalidInputError, match="function_to_apply"):
        pipe("a cat", function_to_apply="relu")
    with pytest.raises(InvalidInputError, match="max_position_embeddings"):
        pipe("the quick brown fox " * 100)
    assert isinstance(pipe("the quick brown fox " * 100, truncation=True, max_length=64)[0]["score"], float)


# --------------------------------------------------------------------------- token classification
NER_TEXTS = ["Hello world from the street in Ångström", "a photo of a beautiful landscape with mountains",
             "machine learning models process images"]


@pytest.mark.parametrize("name", ["ner-bert", "ner-roberta"])
@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_token_classification_matches(folders, name, strategy):
    ours, oracle = both("token-classification", folders[name])
    with pytest.warns() if name == "ner-roberta" and strategy in ("first", "average", "max") else _no_warning():
        got = ours(NER_TEXTS, aggregation_strategy=strategy)
    expected = oracle(NER_TEXTS, aggregation_strategy=strategy)
    close(got, expected)
    assert any(got), "the random model should find some entity"


def test_token_classification_stride_and_split_words(folders):
    ours, oracle = both("ner", folders["ner-bert"])
    long_text = " ".join(NER_TEXTS * 8)
    ours.tokenizer.model_max_length = oracle.tokenizer.model_max_length = 24
    close(ours(long_text, aggregation_strategy="simple", stride=6),
          oracle(long_text, aggregation_strategy="simple", stride=6))
    words = ["Hello", "world", "from", "the", "street"]
    close(ours([words], is_split_into_words=True), oracle([words], is_split_into_words=True))
    with pytest.raises(InvalidInputError, match="aggregation_strategy"):
        ours(long_text, stride=6)


def test_token_classification_batch_invariant(folders):
    pipe = polymodal.pipeline("token-classification", model=str(folders["ner-bert"]),
                              aggregation_strategy="average")
    assert_batch_invariant(pipe, NER_TEXTS + NER_TEXTS[:1], batch_size=2)


# --------------------------------------------------------------------------- fill-mask
@pytest.mark.parametrize("name", ["mlm-bert", "mlm-roberta"])
def test_fill_mask_matches(folders, name):
    ours, oracle = both("fill-mask", folders[name])
    mask = ours.tokenizer.mask_token
    texts = [f"a photo of a {mask}", f"the {mask} is nice today", f"two {mask} sleeping on a {mask}"]
    close(ours(texts[0]), oracle(texts[0]))
    close(ours(texts), oracle(texts))
    close(ours(texts[:1]), oracle(texts[:1]))
    close(ours(texts[1], top_k=2), oracle(texts[1], top_k=2))
    targets = ["cat", "dog", "photo"]
    close(ours(texts[0], targets=targets), oracle(texts[0], targets=targets))
    assert_batch_invariant(ours, texts, batch_size=2, top_k=3)
    with pytest.raises(InvalidInputError, match="mask_token"):
        ours("no mask here")


# --------------------------------------------------------------------------- zero-shot classification
def test_zero_shot_classification_matches(folders):
    ours, oracle = both("zero-shot-classification", folders["nli"])
    labels = ["travel", "cooking", "dancing"]
    close(ours(TEXTS[0], candidate_labels=labels), oracle(TEXTS[0], candidate_labels=labels))
    close(ours(TEXTS[:3], labels), oracle(TEXTS[:3], labels))
    close(ours(TEXTS[1], candidate_labels=labels, multi_label=True),
          oracle(TEXTS[1], candidate_labels=labels, multi_label=True))
    close(ours(TEXTS[1], candidate_labels="travel, cooking", hypothesis_template="This text is about {}."),
          oracle(TEXTS[1], candidate_labels="travel, cooking", hypothesis_template="This text is about {}."))
    close(ours(TEXTS[2], candidate_labels=["travel"]), oracle(TEXTS[2], candidate_labels=["travel"]))
    assert_batch_invariant(ours, TEXTS, batch_size=2, candidate_labels=labels)
    with pytest.raises(InvalidInputError, match="hypothesis_template"):
        ours(TEXTS[0], candidate_labels=labels, hypothesis_template="no slot")
    with pytest.raises(InvalidInputError, match="candidate_labels"):
        ours(TEXTS[0], candidate_labels=[])


# --------------------------------------------------------------------------- feature extraction
def test_feature_extraction_matches(tmp_path):
    folder = text_folder(tmp_path / "bert", "bert", head="Model")
    ours, oracle = both("feature-extraction", folder)
    close(ours(TEXTS[0]), oracle(TEXTS[0]))
    close(ours(TEXTS), oracle(TEXTS))
    close(ours(TEXTS[1], return_tensors=True), oracle(TEXTS[1], return_tensors=True))
    assert np.asarray(ours(TEXTS[1])).shape[:2] == (1, len(oracle.tokenizer(TEXTS[1])["input_ids"]))
    assert_batch_invariant(ours, TEXTS, batch_size=3)


# --------------------------------------------------------------------------- question answering
CONTEXT = ("the quick brown fox jumps over the lazy dog. a photo of a cat sitting on the grass. "
           "two cats sleeping on a couch. the weather is nice today in the street with mountains. ") * 3


def reference_answers(folder, question, context, top_k=1, max_seq_len=48, doc_stride=16, max_answer_len=15,
                      handle_impossible_answer=False):
    """The documented algorithm (Transformers 4.x ``QuestionAnsweringPipeline``) in plain numpy,
    one span at a time, on the logits of Transformers' model."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    model = transformers.AutoModelForQuestionAnswering.from_pretrained(str(folder)).eval()
    enc = tokenizer(question, context, truncation="only_second", max_length=max_seq_len, stride=doc_stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    answers, min_null = [], 1_000_000
    for span in range(len(enc["input_ids"])):
        ids = enc["input_ids"][span]
        p_mask = np.array([0 if s == 1 else 1 for s in enc.sequence_ids(span)])
        p_mask[np.array(ids) == tokenizer.cls_token_id] = 0
        inputs = {k: torch.tensor([enc[k][span]]) for k in tokenizer.model_input_names}
        with torch.no_grad():
            out = model(**inputs)
        start, end = out.start_logits[0].numpy(), out.end_logits[0].numpy()
        undesired = np.abs(p_mask - 1)
        start = np.where(undesired == 0, -10000.0, start)
        end = np.where(undesired == 0, -10000.0, end)
        start = np.exp(start - start.max())
        start /= start.sum()
        end = np.exp(end - end.max())
        end /= end.sum()
        if handle_impossible_answer:
            min_null = min(min_null, float(start[0] * end[0]))
        start[0] = end[0] = 0.0
        candidates = np.tril(np.triu(np.outer(start, end)), max_answer_len - 1)
        flat = candidates.flatten()
        order = np.argsort(-flat)[:top_k]
        starts, ends = np.unravel_index(order, candidates.shape)
        for s, e in zip(starts, ends):
            if not (undesired[s] and undesired[e]):
                continue
            encoding = enc.encodings[span]
            try:
                first = encoding.word_to_chars(encoding.token_to_word(s), 1)[0]
                last = encoding.word_to_chars(encoding.token_to_word(e), 1)[1]
            except Exception:  # noqa: BLE001 - special tokens have no word
                first, last = encoding.offsets[s][0], encoding.offsets[e][1]
            answers.append({"score": float(candidates[s, e]), "start": first, "end": last,
                            "answer": context[first:last]})
    if handle_impossible_answer:
        answers.append({"score": min_null, "start": 0, "end": 0, "answer": ""})
    answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
    return answers[0] if len(answers) == 1 else answers


@pytest.mark.parametrize("name", ["qa", "qa-roberta"])
@pytest.mark.parametrize("options", [{}, {"top_k": 3}, {"top_k": 2, "handle_impossible_answer": True},
                                     {"max_answer_len": 4, "top_k": 2}])
def test_question_answering_matches_documented_algorithm(folders, name, options):
    pipe = polymodal.pipeline("question-answering", model=str(folders[name]))
    question = "where is the cat sitting?"
    got = pipe(question=question, context=CONTEXT, max_seq_len=48, doc_stride=16, **options)
    expected = reference_answers(folders[name], question, CONTEXT, **options)
    close(got, expected, atol=1e-5)


def test_question_answering_input_forms_and_batching(folders):
    pipe = polymodal.pipeline("question-answering", model=str(folders["qa"]))
    questions = ["where is the cat?", "what is nice today?", "who jumps?"]
    contexts = [CONTEXT, "the weather is nice today", CONTEXT[:200]]
    alone = [pipe(question=q, context=c, max_seq_len=48, doc_stride=16) for q, c in zip(questions, contexts)]
    as_lists = pipe(question=questions, context=contexts, max_seq_len=48, doc_stride=16, batch_size=2)
    as_dicts = pipe([{"question": q, "context": c} for q, c in zip(questions, contexts)], max_seq_len=48,
                    doc_stride=16, batch_size=5)
    close(as_lists, alone, atol=1e-5)
    close(as_dicts, alone, atol=1e-5)
    close(pipe({"question": questions[1], "context": contexts[1]}), pipe(question=questions[1], context=contexts[1]))



def test_question_answering_streams_a_generator_or_dataset(folders):
    import datasets

    pipe = polymodal.pipeline("question-answering", model=str(folders["qa"]))
    rows = [{"question": q, "context": c, "id": i} for i, (q, c) in
            enumerate([("where is the cat?", CONTEXT), ("what is nice?", "the weather is nice today"),
                       ("who jumps?", CONTEXT[:200])])]
    alone = [pipe(question=r["question"], context=r["context"], max_seq_len=48, doc_stride=16) for r in rows]
    streamed = pipe((r for r in rows), max_seq_len=48, doc_stride=16, batch_size=2)
    assert not isinstance(streamed, list)  # an iterator: results come as they are ready
    close(list(streamed), alone, atol=1e-5)
    close(list(pipe(datasets.Dataset.from_list(rows), max_seq_len=48, doc_stride=16)), alone, atol=1e-5)
    with pytest.raises(InvalidInputError, match="input 1"):
        list(pipe(iter([rows[0], {"question": "q?"}])))

def test_question_answering_bad_inputs(folders):
    pipe = polymodal.pipeline("question-answering", model=str(folders["qa"]))
    with pytest.raises(InvalidInputError, match="context"):
        pipe(question="where?", context="")
    with pytest.raises(InvalidInputError, match="one context per question"):
        pipe(question=["a?", "b?", "c?"], context=["x", "y"])
    with pytest.raises(InvalidInputError, match="shorten the question"):
        pipe(question="where is the cat " * 20, context=CONTEXT, max_seq_len=48, doc_stride=16)
    with pytest.raises(InvalidInputError, match="doc_stride"):
        pipe(question="where?", context=CONTEXT, max_seq_len=32, doc_stride=40)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- command line
def test_cli_text_commands(folders, capsys):
    import json

    from polymodal.cli import main

    assert main(["text", str(folders["cls-bert"]), "a photo of a cat", "the weather"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["input"] for line in lines] == ["a photo of a cat", "the weather"]
    assert set(lines[0]["result"]) == {"label", "score"}
    assert main(["text", "--question", "where is the cat?", str(folders["qa"]), CONTEXT[:120]]) == 0
    answer = json.loads(capsys.readouterr().out)["result"]
    assert CONTEXT[:120][answer["start"]:answer["end"]] == answer["answer"]
    assert main(["text", "--task", "zero-shot-classification", str(folders["nli"]), "a cat"]) == 2
    assert "candidate-labels" in capsys.readouterr().err
