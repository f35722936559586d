"""Scale-out on a local Ray cluster: Ray Serve (2 replicas), Ray Data bulk inference, Ray Train (2 workers)."""

from __future__ import annotations

import json
import socket
import sys
import threading

import numpy as np
import pytest
import torch
from pipeline_helpers import classifier_folder
from serve_helpers import wav

import polymodal

ray = pytest.importorskip("ray")
pytest.importorskip("transformers")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clf_dir(tmp_path_factory):
    return classifier_folder(tmp_path_factory.mktemp("clf"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ray_serve_two_replicas_answer_like_the_pipeline(local_ray, clf_dir):
    import http.client

    from ray import serve

    from polymodal.serve.ray import deployment

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        serve.run(deployment(clf_dir, replicas=2, num_cpus=0.5), name="polymodal", route_prefix="/")
        replicas = serve.status().applications["polymodal"].deployments["polymodal"].replica_states
        assert replicas.get("RUNNING") == 2
        bodies = [wav(50 + i, seconds=0.3 + 0.05 * i) for i in range(6)]
        replies = [None] * len(bodies)

        def send(i):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("POST", "/predict?top_k=3", body=bodies[i])
            response = conn.getresponse()
            replies[i] = (response.status, json.loads(response.read()))
            conn.close()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        pipe = polymodal.pipeline("audio-classification", model=str(clf_dir))
        for body, (status, reply) in zip(bodies, replies):
            assert status == 200
            expected = pipe(body, top_k=3)
            assert [r["label"] for r in reply] == [r["label"] for r in expected]
            np.testing.assert_allclose([r["score"] for r in reply], [r["score"] for r in expected], atol=1e-5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/predict?top_k=-1", body=bodies[0])
        response = conn.getresponse()
        assert response.status == 400 and "top_k" in json.loads(response.read())["error"]
    finally:
        serve.shutdown()


def test_ray_data_bulk_classify_equals_the_cli(local_ray, clf_dir, tmp_path, capsys):
    from polymodal.cli import main

    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(5):
        (folder / f"clip{i}.wav").write_bytes(wav(60 + i, seconds=0.2 + 0.05 * i))
    files = sorted(str(p) for p in folder.glob("*.wav"))
    assert main(["classify", str(clf_dir), *files, "--json", "--batch-size", "2", "--top-k", "3"]) == 0
    single = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    out = tmp_path / "out.jsonl"
    assert main(["classify", str(clf_dir), str(folder), "--ray", "--batch-size", "2", "--concurrency", "2",
                 "--top-k", "3", "--output", str(out)]) == 0
    bulk = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["file"] for r in bulk] == files == [r["file"] for r in single]
    for ours, theirs in zip(bulk, single):
        assert [r["label"] for r in ours["labels"]] == [r["label"] for r in theirs["labels"]]
        np.testing.assert_allclose([r["score"] for r in ours["labels"]], [r["score"] for r in theirs["labels"]],
                                   atol=1e-6)


# ----------------------------------------------------------------------------- Ray Train


def make_trainer(batch_size: int = 2, output_dir: str = "unused"):
    """A tiny layer-norm Wav2Vec2 classifier (no dropout, no batch norm) on 16 fixed clips."""
    from polymodal.models.wav2vec2.configuration import Wav2Vec2Config
    from polymodal.models.wav2vec2.modeling import Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                            conv_dim=[8, 8], conv_kernel=[10, 3], conv_stride=[5, 2], num_conv_pos_embeddings=4,
                            num_conv_pos_embedding_groups=2, feat_extract_norm="layer", do_stable_layer_norm=True,
                            num_labels=3, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                            feat_proj_dropout=0.0, final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0,
                            classifier_proj_size=8)
    model = Wav2Vec2ForSequenceClassification(config)
    rng = np.random.default_rng(0)
    data = [{"input_values": rng.standard_normal(400).astype(np.float32), "label": i % 3} for i in range(16)]
    args = polymodal.TrainingArguments(output_dir=output_dir, per_device_train_batch_size=batch_size, max_steps=3,
                                       learning_rate=1e-2, save_strategy="no", disable_tqdm=True, report_to="none")
    return polymodal.Trainer(model=model, args=args, train_dataset=data)


def _two_worker_trainer():
    return make_trainer(batch_size=2)


def test_ray_train_two_workers_equal_single_process_global_batch(local_ray, tmp_path):
    from ray import cloudpickle
    from safetensors.torch import load_file

    from polymodal.train.ray import train_on_ray

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test file
    single = make_trainer(batch_size=4, output_dir=str(tmp_path / "single"))
    single.train()
    expected = {k: v.detach() for k, v in single.model.state_dict().items()}
    train_on_ray(_two_worker_trainer, num_workers=2, output_dir=str(tmp_path / "ray"),
                 storage_path=str(tmp_path / "ray_results"))
    got = load_file(str(tmp_path / "ray" / "model.safetensors"))
    assert set(got) <= set(expected)
    moved = False
    for key, value in got.items():
        torch.testing.assert_close(value, expected[key], atol=1e-5, rtol=1e-4, msg=key)
        moved |= key.startswith("classifier")
    assert moved
