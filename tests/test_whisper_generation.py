"""Whisper generate(): short-form, language/task, timestamps, long-form with fallback — token-exact vs Transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from whisper_helpers import write_tiny_whisper

from polymodal.core.errors import InvalidInputError
from polymodal.models.whisper.modeling import WhisperForConditionalGeneration


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = write_tiny_whisper(tmp_path_factory.mktemp("tiny_whisper"))
    theirs = transformers.WhisperForConditionalGeneration.from_pretrained(folder).eval()
    ours = WhisperForConditionalGeneration.from_pretrained(folder)
    extractor = transformers.WhisperFeatureExtractor.from_pretrained(folder)
    return theirs, ours, extractor, folder


def _noise(seconds, seed):
    return np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1


def _same(theirs, ours, features, **kwargs):
    torch.manual_seed(0)
    a = theirs.generate(features, **kwargs)
    torch.manual_seed(0)
    b = ours.generate(features, **kwargs)
    assert torch.equal(a, b), (kwargs, a, b)


@pytest.mark.parametrize("kwargs", [
    {},  # language detection
    {"language": "fr"},
    {"language": "English", "task": "translate"},
    {"return_timestamps": True},
    {"language": ["de", "fr"], "return_timestamps": True},
    {"num_beams": 2},
])
def test_short_form_token_exact(models, kwargs):
    theirs, ours, extractor, _ = models
    features = extractor([_noise(3, 0), _noise(5, 1)], sampling_rate=16000, return_tensors="pt").input_features
    _same(theirs, ours, features, max_new_tokens=8, **kwargs)


@pytest.mark.parametrize("kwargs", [
    {},
    {"condition_on_prev_tokens": True},
    {"temperature": (0.0, 0.2, 0.4), "compression_ratio_threshold": 1.35, "logprob_threshold": -1.0},
])
def test_long_form_token_exact(models, kwargs):
    theirs, ours, extractor, _ = models
    features = extractor([_noise(45, 2)], sampling_rate=16000, return_tensors="pt", truncation=False,
                         padding="longest").input_features
    assert features.shape[-1] == 4500
    _same(theirs, ours, features, return_timestamps=True, **kwargs)


def test_batched_long_form_and_prompt(models):
    theirs, ours, extractor, folder = models
    batch = extractor([_noise(33, 3), _noise(48, 4)], sampling_rate=16000, return_tensors="pt", truncation=False,
                      padding="longest", return_attention_mask=True)
    _same(theirs, ours, batch.input_features, attention_mask=batch.attention_mask, return_timestamps=True)
    tokenizer = transformers.WhisperTokenizer.from_pretrained(folder)
    prompt = torch.as_tensor(tokenizer.get_prompt_ids("the quick fox"))
    features = extractor([_noise(4, 5)], sampling_rate=16000, return_tensors="pt").input_features
    _same(theirs, ours, features, prompt_ids=prompt, max_new_tokens=10)


def test_detect_language_and_bad_input(models):
    theirs, ours, extractor, _ = models
    features = extractor([_noise(3, 0), _noise(5, 1)], sampling_rate=16000, return_tensors="pt").input_features
    assert torch.equal(ours.detect_language(features), theirs.detect_language(features))
    with pytest.raises(InvalidInputError, match="Unsupported language 'klingon'"):
        ours.generate(features, language="klingon")
    with pytest.raises(InvalidInputError, match="tasks are"):
        ours.generate(features, task="summarize")
    long = extractor([_noise(35, 0)], sampling_rate=16000, return_tensors="pt", truncation=False,
                     padding="longest").input_features
    with pytest.raises(InvalidInputError, match="return_timestamps=True"):
        ours.generate(long, return_timestamps=False)
