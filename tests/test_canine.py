"""CANINE against Transformers: every head, local blocks, downsampling remainders, gradients, saving.

Variants: lengths that do and do not divide into blocks and molecules, more hash functions, another
upsampling kernel; the outputs include every hidden state and attention map.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

import polymodal  # noqa: E402
from polymodal.core.errors import ConfigError, InvalidInputError  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, num_labels=3,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_hash_functions=4, num_hash_buckets=64,
            max_position_embeddings=64, local_transformer_stride=4, downsampling_rate=4, upsampling_kernel_size=4,
            type_vocab_size=2)
VARIANTS = {
    "base": ("Canine", dict()),
    "odd-sizes": ("Canine", dict(num_hash_functions=8, local_transformer_stride=5, downsampling_rate=3,
                                 upsampling_kernel_size=3)),
}
HEADS = ["Model", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
         "ForMultipleChoice"]


def _inputs(head, config, labels):
    gen = torch.Generator().manual_seed(0)
    shape = (3, 2, 14) if head == "ForMultipleChoice" else (3, 14)
    ids = torch.randint(32, 0x3000, shape, generator=gen)  # code points
    mask = torch.ones(shape, dtype=torch.long)
    mask[..., 1, 9:] = 0
    mask[-1, ..., 4:] = 0
    inputs = {"input_ids": ids.masked_fill(mask == 0, 0), "attention_mask": mask}
    if True:
        inputs["token_type_ids"] = torch.zeros_like(ids).index_fill(-1, torch.tensor([5, 6, 7]), 1)
    if labels:
        if head == "ForSequenceClassification":
            inputs["labels"] = torch.tensor([0, 2, 1])
        elif head == "ForTokenClassification":
            inputs["labels"] = torch.randint(0, 3, shape, generator=gen).masked_fill(mask == 0, -100)
        elif head == "ForQuestionAnswering":
            inputs["start_positions"], inputs["end_positions"] = torch.tensor([1, 3, 20]), torch.tensor([2, 5, 20])
        elif head == "ForMultipleChoice":
            inputs["labels"] = torch.tensor([1, 0, 1])
    return inputs


def _outputs(out, head):
    keys = {"Model": ["last_hidden_state", "pooler_output"], "ForQuestionAnswering": ["start_logits", "end_logits"]}.get(head, ["logits"])
    return [out[k] for k in keys] + ([out["loss"]] if out.get("loss") is not None else [])


def _pair(family, head, extra, tmp_path):
    config = getattr(transformers, family + "Config")(**{**TINY, **extra,
                                                         **({"num_labels": 2} if head == "ForQuestionAnswering" else {})})
    torch.manual_seed(0)
    oracle = getattr(transformers, family + head)(config).eval()
    with torch.no_grad():  # move biases and q/v biases off their zero init
        for param in oracle.parameters():
            param.add_(torch.randn_like(param) * 0.05)
    oracle.save_pretrained(tmp_path / "hf")
    return oracle, getattr(polymodal, family + head).from_pretrained(tmp_path / "hf").eval()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("head", HEADS)
def test_parity(variant, head, tmp_path):
    family, extra = VARIANTS[variant]
    if not hasattr(transformers, family + head):
        pytest.skip(f"Transformers has no {family}{head}")
    oracle, ours = _pair(family, head, extra, tmp_path)
    for labels in ((False,) if head == "Model" else (False, True)):
        inputs = _inputs(head, oracle.config, labels)
        with torch.no_grad():
            for a, b in zip(_outputs(ours(**inputs), head), _outputs(oracle(**inputs), head), strict=True):
                torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    # the eager path (attention weights asked for) gives the same outputs and weights
    inputs = _inputs(head, oracle.config, False)
    with torch.no_grad():
        a, b = ours(**inputs, output_attentions=True), oracle(**inputs, output_attentions=True)
    torch.testing.assert_close(_outputs(a, head)[0], _outputs(b, head)[0], atol=1e-5, rtol=1e-4)
    for x, y in zip(a.attentions, b.attentions, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)
    if head == "Model":
        return
    # gradients in train mode
    ours.train()
    oracle.train()
    inputs = _inputs(head, oracle.config, True)
    ours(**inputs).loss.backward()
    oracle(**inputs).loss.backward()
    grads = {k: p.grad for k, p in ours.named_parameters()}
    for name, param in oracle.named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(grads[name], param.grad, atol=1e-5, rtol=1e-4, msg=name)
    # polymodal saves, Transformers loads
    ours.eval().save_pretrained(tmp_path / "ours")
    back = getattr(transformers, family + head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        for a, b in zip(_outputs(ours(**inputs), head), _outputs(back(**inputs), head), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_auto_classes(tmp_path):
    config = transformers.CanineConfig(**TINY)
    for head, auto in [("ForSequenceClassification", "AutoModelForSequenceClassification"),
                       ("ForTokenClassification", "AutoModelForTokenClassification"), ("Model", "AutoModel")]:
        getattr(transformers, "Canine" + head)(config).save_pretrained(tmp_path / head)
        assert type(getattr(polymodal, auto).from_pretrained(tmp_path / head)).__name__ == "Canine" + head


def test_hidden_states_cover_every_stage(tmp_path):
    oracle, ours = _pair("Canine", "Model", {}, tmp_path)
    inputs = _inputs("Model", oracle.config, False)
    with torch.no_grad():
        a, b = ours(**inputs, output_hidden_states=True), oracle(**inputs, output_hidden_states=True)
    assert len(a.hidden_states) == len(b.hidden_states) == 2 + 3 + 2  # initial, deep (2 layers), final
    for x, y in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)


def test_bad_config_and_input(tmp_path):
    with pytest.raises(ConfigError, match="num_hash_functions"):
        polymodal.CanineConfig(hidden_size=30, num_attention_heads=2, num_hash_functions=4)
    _, ours = _pair("Canine", "ForTokenClassification", {}, tmp_path)
    with pytest.raises(InvalidInputError, match="64"):
        ours(input_ids=torch.ones(1, 65, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="downsampling_rate"):
        ours(input_ids=torch.ones(1, 2, dtype=torch.long))


# --------------------------------------------------------------------------- tokenizer: code points
TEXTS = ["hello wörld 🍕!", "東京は日本の首都です。", "", "a \ue003 b", "  spaces\tand\nlines  ", "Ångström " * 12]
PAIRS = ["q?", "文", "z", "pair text here", "", "y" * 30]


def test_tokenizer_code_points_match_transformers(tmp_path):
    oracle, ours = transformers.CanineTokenizer(), polymodal.CanineTokenizer()
    for options in (dict(), dict(padding=True, return_tensors="pt"), dict(padding="max_length", max_length=24,
                                                                           truncation=True),
                    dict(truncation="only_second", max_length=160)):
        a, b = ours(TEXTS, PAIRS, **options), oracle(TEXTS, PAIRS, **options)
        assert sorted(a.keys()) == sorted(b.keys())
        for key in b.keys():
            assert (a[key] == b[key]).all() if options.get("return_tensors") else a[key] == b[key], key
    for text in TEXTS:
        assert ours.tokenize(text) == oracle.tokenize(text)
    ids = oracle(TEXTS, padding=True)["input_ids"]
    for skip in (False, True):
        assert ours.batch_decode(ids, skip_special_tokens=skip) == oracle.batch_decode(ids, skip_special_tokens=skip)
    ours.save_pretrained(tmp_path)
    back = polymodal.AutoTokenizer.from_pretrained(tmp_path)
    assert back(TEXTS)["input_ids"] == oracle(TEXTS)["input_ids"]


def test_tokenizer_windows_and_offsets():
    ours = polymodal.CanineTokenizer()
    question, context = "Où?", "Le café est dans la rue. " * 4
    enc = ours(question, context, truncation="only_second", max_length=32, stride=8, return_overflowing_tokens=True,
               return_offsets_mapping=True)
    assert len(enc["input_ids"]) > 1
    for row in range(len(enc["input_ids"])):
        for token_id, (start, end), seq in zip(enc["input_ids"][row], enc["offset_mapping"][row],
                                               enc.sequence_ids(row), strict=True):
            if seq is not None:
                assert token_id == ord((question, context)[seq][start])
