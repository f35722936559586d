"""The NLP pipelines behind ``polymodal serve``: task inference, JSON and raw-text bodies, parameters."""

from __future__ import annotations

import json

import pytest
from serve_helpers import Live
from test_text_pipelines import close
from text_helpers import NER_LABELS, SENTIMENT, text_folder

import polymodal
from polymodal.serve import ServeConfig, infer_task, load_service

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    make = tmp_path_factory.mktemp
    return {"cls": text_folder(make("cls"), "bert", labels=SENTIMENT),
            "ner": text_folder(make("ner"), "roberta", "ForTokenClassification", labels=NER_LABELS, seed=3),
            "qa": text_folder(make("qa"), "bert", "ForQuestionAnswering", seed=2)}


def test_infer_text_tasks(folders):
    assert infer_task(folders["cls"]) == "text-classification"
    assert infer_task(folders["ner"]) == "token-classification"
    assert infer_task(folders["qa"]) == "question-answering"


def _post(running, body, query=""):
    headers = {"Content-Type": "application/json"} if isinstance(body, dict) else {"Content-Type": "text/plain"}
    data = json.dumps(body) if isinstance(body, dict) else body.encode()
    return running.request("POST", "/predict" + query, data, headers)


def test_text_servers_answer_like_the_pipeline(folders):
    for name, params, check in (
        ("cls", {"top_k": 2}, lambda pipe, text: pipe(text, top_k=2)),
        ("ner", {"aggregation_strategy": "simple"}, lambda pipe, text: pipe(text, aggregation_strategy="simple")),
        ("qa", {"question": "where is the cat?"}, lambda pipe, text: pipe(question="where is the cat?", context=text)),
    ):
        pipe = polymodal.pipeline(infer_task(folders[name]), model=str(folders[name]))
        running = Live(load_service(folders[name], config=ServeConfig(max_batch_size=4, max_wait_ms=20)))
        try:
            text = "a photo of a cat sitting on the grass in the street"
            status, _, reply = _post(running, {"inputs": text, "parameters": params})
            assert status == 200, reply
            close(reply, check(pipe, text), atol=1e-5)
            if name == "cls":
                status, _, reply = _post(running, text, "?top_k=2")
                assert status == 200
                close(reply, check(pipe, text), atol=1e-5)
                status, _, reply = _post(running, {"inputs": text, "parameters": {"top_k": "many"}})
                assert status == 400 and "top_k" in reply["error"]
            if name == "qa":
                status, _, reply = _post(running, {"inputs": text})
                assert status == 400 and "question" in reply["error"]
        finally:
            running.close()
