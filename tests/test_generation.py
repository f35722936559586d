"""generate() against Transformers on a tiny GPT-2: every strategy and processor token-exact,
output classes, transition scores, the cache, GenerationConfig files and bad input."""

import pytest
import torch
import transformers
from generation_helpers import assert_same_generation, padded_batch, save_tiny

from polymodal.generation import DynamicCache, EncoderDecoderCache, GenerationConfig
from polymodal.models.gpt2 import GPT2LMHeadModel

EOS = 98


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=99, n_positions=128, n_embd=32, n_layer=2, n_head=4,
                                     bos_token_id=EOS, eos_token_id=EOS, pad_token_id=0)
    hf = transformers.GPT2LMHeadModel(config).eval()
    return hf, GPT2LMHeadModel.from_pretrained(save_tiny(hf, tmp_path_factory.mktemp("gen")))


CASES = [
    dict(max_new_tokens=10),
    dict(max_new_tokens=10, do_sample=True),
    dict(max_new_tokens=10, do_sample=True, temperature=0.7, top_k=0, top_p=0.8),
    dict(max_new_tokens=10, do_sample=True, typical_p=0.7, top_k=20),
    dict(max_new_tokens=10, do_sample=True, epsilon_cutoff=0.02),
    dict(max_new_tokens=10, do_sample=True, eta_cutoff=0.05, num_return_sequences=2),
    dict(max_new_tokens=10, do_sample=True, min_p=0.1, top_k=0),
    dict(max_new_tokens=10, num_beams=3),
    dict(max_new_tokens=10, num_beams=4, num_return_sequences=3, length_penalty=0.5, early_stopping=True),
    dict(max_new_tokens=10, num_beams=3, early_stopping="never", length_penalty=1.5),
    dict(max_new_tokens=10, num_beams=3, do_sample=True, num_return_sequences=2),
    dict(max_new_tokens=12, repetition_penalty=1.5, no_repeat_ngram_size=2),
    dict(max_new_tokens=10, bad_words_ids=[[5], [7, 8]], sequence_bias={(3,): 2.0, (4, 5): -1.0}),
    dict(max_new_tokens=10, min_new_tokens=8, suppress_tokens=[1, 2], begin_suppress_tokens=[3]),
    dict(max_new_tokens=10, forced_eos_token_id=EOS, min_length=9, exponential_decay_length_penalty=(3, 1.5)),
    dict(max_new_tokens=10, renormalize_logits=True, remove_invalid_values=True, do_sample=True),
    dict(max_length=15),
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_token_exact_with_transformers(pair, kwargs):
    hf, pm = pair
    ids, mask = padded_batch(99, seed=3)
    assert_same_generation(hf, pm, ids, mask, **kwargs)


def test_eos_stops_rows_and_pads_the_rest(pair):
    hf, pm = pair
    ids, mask = padded_batch(99, seed=3)
    bias = {(11,): 6.0}  # make token 11 likely, then call it EOS: rows finish at different steps
    expected, got = assert_same_generation(hf, pm, ids, mask, max_new_tokens=10, sequence_bias=bias,
                                           eos_token_id=11, pad_token_id=0, do_sample=True)
    assert (got == 11).any()


def test_scores_output_and_transition_scores(pair):
    hf, pm = pair
    ids, mask = padded_batch(99, seed=3)
    for kwargs in (dict(), dict(num_beams=3, num_return_sequences=2)):
        args = dict(max_new_tokens=6, return_dict_in_generate=True, output_scores=True, output_logits=True, **kwargs)
        a = hf.generate(ids, attention_mask=mask, **args)
        b = pm.generate(ids, attention_mask=mask, **args)
        assert type(b).__name__ == type(a).__name__
        assert torch.equal(a.sequences, b.sequences)
        for x, y in zip(a.scores, b.scores):
            torch.testing.assert_close(y, x, atol=1e-5, rtol=1e-4)
        ta = hf.compute_transition_scores(a.sequences, a.scores, getattr(a, "beam_indices", None))
        tb = pm.compute_transition_scores(b.sequences, b.scores, getattr(b, "beam_indices", None))
        torch.testing.assert_close(tb, ta, atol=1e-5, rtol=1e-4)
        if kwargs:
            torch.testing.assert_close(b.sequences_scores, a.sequences_scores, atol=1e-5, rtol=1e-4)
            assert torch.equal(b.beam_indices.long(), a.beam_indices.long())


def test_attentions_and_hidden_states_per_step(pair):
    _, pm = pair
    ids, mask = padded_batch(99, seed=3)
    out = pm.generate(ids, attention_mask=mask, max_new_tokens=3, return_dict_in_generate=True,
                      output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 3 and len(out.hidden_states) == 3
    assert out.attentions[1][0].shape == (3, 4, 1, 8)


def test_cache_grows_without_copy_per_step():
    cache = DynamicCache(max_cache_len=8)
    k = torch.randn(2, 3, 5, 4)
    keys, _ = cache.update(k, k, 0)
    buffer = cache._keys[0]
    assert buffer.shape[2] == 8 and torch.equal(keys, k)
    for _ in range(3):
        cache.update(torch.ones(2, 3, 1, 4), torch.ones(2, 3, 1, 4), 0)
    assert cache._keys[0] is buffer and cache.get_seq_length() == 8
    keys, _ = cache.update(torch.zeros(2, 3, 1, 4), torch.zeros(2, 3, 1, 4), 0)  # past capacity: doubles
    assert cache._keys[0].shape[2] == 16 and keys.shape[2] == 9 and torch.equal(keys[:, :, :5], k)
    cache.reorder_cache(torch.tensor([1, 1]))
    assert torch.equal(cache[0][0][0], cache[0][0][1])


def test_encoder_decoder_cache_flags():
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    assert not cache.is_updated.get(0)
    k = torch.randn(1, 2, 4, 8)
    cache.cross_attention_cache.update(k, k, 0)
    cache.is_updated[0] = True
    cache.update(k[:, :, :1], k[:, :, :1], 0)
    assert cache.get_seq_length() == 1 and torch.equal(cache.cross_attention_cache[0][0], k)


def test_generation_config_round_trip_and_transformers_reads_it(tmp_path):
    config = GenerationConfig(max_new_tokens=7, do_sample=True, top_p=0.9, eos_token_id=[1, 2], custom_key=3)
    config.save_pretrained(tmp_path)
    again = GenerationConfig.from_pretrained(tmp_path)
    assert again == config and again.custom_key == 3
    theirs = transformers.GenerationConfig.from_pretrained(tmp_path)
    assert theirs.max_new_tokens == 7 and theirs.top_p == 0.9
    transformers.GenerationConfig(num_beams=2, length_penalty=0.3).save_pretrained(tmp_path / "t")
    assert GenerationConfig.from_pretrained(tmp_path / "t").length_penalty == 0.3


def test_model_generation_config_is_used(pair, tmp_path):
    _, pm = pair
    ids, mask = padded_batch(99, seed=3)
    pm.generation_config = GenerationConfig(max_new_tokens=4, eos_token_id=EOS, pad_token_id=0)
    try:
        assert pm.generate(ids, attention_mask=mask).shape[1] == ids.shape[1] + 4
        pm.save_pretrained(tmp_path)
        loaded = GPT2LMHeadModel.from_pretrained(tmp_path)
        assert loaded.generation_config.max_new_tokens == 4
    finally:
        pm.generation_config = GenerationConfig.from_model_config(pm.config)


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_new_tokens=0), "max_new_tokens"),
    (dict(max_new_tokens=-3), "max_new_tokens"),
    (dict(max_length=5), "max_new_tokens"),
    (dict(num_beam_groups=2), "num_beam_groups"),
    (dict(num_return_sequences=3), "num_return_sequences"),
    (dict(do_sample=True, temperature=0.0), "temperature"),
    (dict(do_sample=True, top_p=1.5), "top_p"),
])
def test_bad_arguments_are_clear_errors(pair, kwargs, message):
    _, pm = pair
    ids, mask = padded_batch(99, seed=3)
    with pytest.raises(ValueError, match=message):
        pm.generate(ids, attention_mask=mask, **kwargs)


def test_empty_prompt_and_bad_tensors(pair):
    hf, pm = pair
    with pytest.raises(ValueError, match="empty"):
        pm.generate(torch.zeros(1, 0, dtype=torch.long), max_new_tokens=2)
    with pytest.raises(ValueError, match="integer"):
        pm.generate(torch.zeros(1, 3), max_new_tokens=2)
    # No prompt at all: starts from BOS, as Transformers does.
    assert torch.equal(pm.generate(max_new_tokens=3), hf.generate(max_new_tokens=3))


def test_right_padding_warns(pair):
    _, pm = pair
    ids, mask = padded_batch(99, seed=3)
    with pytest.warns(UserWarning, match="padding_side"):
        pm.generate(ids.flip(1), attention_mask=mask.flip(1), max_new_tokens=2)
