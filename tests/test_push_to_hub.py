"""push_to_hub for models, configs, feature extractors, image processors, tokenizers and processors:
through huggingface_hub when online (a fake HfApi records the calls), one clear error otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_helpers import classifier_folder, ctc_folder

import polymodal
from polymodal.core.errors import ConfigError, HubUnavailableError


class FakeApi:
    calls: list = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, private=None, exist_ok=False, repo_type=None):
        FakeApi.calls.append(("create_repo", repo_id, private))

    def upload_folder(self, folder_path, repo_id, commit_message, revision=None, ignore_patterns=None):
        files = sorted(p.name for p in Path(folder_path).iterdir())
        FakeApi.calls.append(("upload_folder", repo_id, commit_message, files, revision, self.token))
        return type("Info", (), {"commit_url": f"https://hub/{repo_id}/commit/1"})()


@pytest.fixture()
def online(monkeypatch):
    import huggingface_hub

    from polymodal.core import hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "_hub_reachable", lambda: True)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    FakeApi.calls = []
    return FakeApi.calls


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {"clf": classifier_folder(tmp_path_factory.mktemp("clf")), "ctc": ctc_folder(tmp_path_factory.mktemp("ctc"))}


def _objects(folders):
    return {
        "model": (polymodal.AutoModelForAudioClassification.from_pretrained(folders["clf"]), "model.safetensors"),
        "config": (polymodal.AutoConfig.from_pretrained(folders["clf"]), "config.json"),
        "feature_extractor": (polymodal.AutoFeatureExtractor.from_pretrained(folders["clf"]),
                              "preprocessor_config.json"),
        "tokenizer": (polymodal.AutoTokenizer.from_pretrained(folders["ctc"]), "tokenizer_config.json"),
        "processor": (polymodal.AutoProcessor.from_pretrained(folders["ctc"]), "vocab.json"),
    }


@pytest.mark.parametrize("kind", ["model", "config", "feature_extractor", "tokenizer", "processor"])
def test_push_to_hub_uploads_the_saved_files(folders, online, kind):
    obj, expected_file = _objects(folders)[kind]
    url = obj.push_to_hub("me/thing", token="tok", private=True, commit_message="first")
    assert url == "https://hub/me/thing/commit/1"
    assert online[0] == ("create_repo", "me/thing", True)
    _, repo, message, files, _, token = online[1]
    assert (repo, message, token) == ("me/thing", "first", "tok") and expected_file in files


def test_save_pretrained_push_to_hub_saves_then_uploads(folders, online, tmp_path):
    config = polymodal.AutoConfig.from_pretrained(folders["clf"])
    config.save_pretrained(tmp_path / "my-config", push_to_hub=True)
    assert (tmp_path / "my-config" / "config.json").is_file()
    assert online[1][1] == "my-config" and online[1][3] == ["config.json"]
    model = polymodal.AutoModelForAudioClassification.from_pretrained(folders["clf"])
    model.save_pretrained(tmp_path / "m", push_to_hub=True, repo_id="me/model")
    assert online[-1][1] == "me/model" and "model.safetensors" in online[-1][3]


@pytest.mark.parametrize("kind", ["model", "config", "feature_extractor", "tokenizer", "processor"])
def test_offline_is_one_clear_error(folders, monkeypatch, tmp_path, kind):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    obj, _ = _objects(folders)[kind]
    with pytest.raises(HubUnavailableError, match=r"push_to_hub\(\).*HF_HUB_OFFLINE.*huggingface-cli upload me/x"):
        obj.push_to_hub("me/x")
    with pytest.raises(HubUnavailableError, match=r"saved in .*huggingface-cli upload"):
        obj.save_pretrained(tmp_path / "out", push_to_hub=True)
    assert any((tmp_path / "out").iterdir())  # saved locally before the error


def test_without_huggingface_hub(folders, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    config = polymodal.AutoConfig.from_pretrained(folders["clf"])
    with pytest.raises(HubUnavailableError, match="huggingface_hub is not installed"):
        config.push_to_hub("me/x")


def test_bad_repo_id(folders):
    config = polymodal.AutoConfig.from_pretrained(folders["clf"])
    with pytest.raises(ConfigError, match="repo_id"):
        config.push_to_hub("")
