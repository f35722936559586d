"""The seed documents' code blocks, run with polymodal.

Each test reproduces a page's code blocks in order, with ``polymodal`` in place of
``transformers``, a local checkpoint folder in place of hub ids and the bundled spoken-intent
set (``polymodal.datasets.load_spoken_intents()``, 8 kHz) in place of
``load_dataset("PolyAI/minds14", ...)``. Where a block produces numbers, Transformers on the
same folder is the oracle. Blocks that need the network are skipped with a comment naming them.

Pages:
* ``shared/seeds/003_*`` — the audio-classification guide (fine-tune Wav2Vec2 on MInDS-14);
* ``shared/seeds/000_*`` — the feature-extractor guide (loading, padding, truncation, resampling);
* ``shared/seeds/004_*`` — the XLS-R / XLSR-Wav2Vec2 pages (CTC outputs decoded with
  ``Wav2Vec2CTCTokenizer``; the pages show no code, so their usage tips are the block).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import polymodal

transformers = pytest.importorskip("transformers")

# A tiny random "wav2vec2-base": the guide's architecture (group-norm feature encoder, post-norm
# transformer) and its 320-sample frame stride (50 frames a second), small enough to fine-tune
# for a few steps in seconds.
TINY_BASE = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    conv_dim=(16, 16, 16), conv_stride=(5, 8, 8), conv_kernel=(10, 8, 8),
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, classifier_proj_size=8,
)
SUBSET = 40  # clips of the bundled set used for the guide run (train 32 / test 8)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """Stands in for "facebook/wav2vec2-base": a base model folder plus its feature extractor."""
    path = tmp_path_factory.mktemp("wav2vec2-base")
    torch.manual_seed(0)
    polymodal.Wav2Vec2Model(polymodal.Wav2Vec2Config(**TINY_BASE)).save_pretrained(path)
    polymodal.Wav2Vec2FeatureExtractor().save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def minds():
    """Stands in for ``load_dataset("PolyAI/minds14", name="en-US", split="train")``
    + ``train_test_split``: the bundled set already splits train/test by voice. A shuffled
    subset keeps the run short; the label column gets the guide's name, ``intent_class``."""
    data = polymodal.datasets.load_spoken_intents()
    data = polymodal.datasets.AudioDatasetDict(
        train=data["train"].shuffle(seed=0).select(range(SUBSET * 4 // 5)),
        test=data["test"].shuffle(seed=0).select(range(SUBSET // 5)),
    )
    return data.rename_column("label", "intent_class")


# ----------------------------------------------------------------------------- 003: audio classification
def test_audio_classification_guide(base_dir, minds, tmp_path, caplog):
    # Skipped: `notebook_login()` (needs the network and a Hub account).

    # >>> minds = minds.remove_columns(["path", "transcription", "english_transcription", "lang_id"])
    # (the bundled set's extra columns are transcription and speaker; the audio column holds the path)
    minds = minds.remove_columns(["transcription", "speaker"])
    example = minds["train"][0]
    assert set(example) == {"audio", "intent_class"}
    assert example["audio"]["sampling_rate"] == 8000  # like MInDS-14
    assert example["audio"]["array"].dtype == np.float32 and example["audio"]["array"].ndim == 1

    # Label maps, exactly as the guide builds them (string ids).
    labels = minds["train"].features["intent_class"].names
    label2id, id2label = dict(), dict()
    for i, label in enumerate(labels):
        label2id[label] = str(i)
        id2label[str(i)] = label
    assert len(labels) == 14 and id2label[str(2)] == labels[2]

    # Preprocessing.
    from polymodal import AutoFeatureExtractor

    feature_extractor = AutoFeatureExtractor.from_pretrained(base_dir)
    assert type(feature_extractor).__name__ == "Wav2Vec2FeatureExtractor"

    from polymodal.datasets import Audio

    minds = minds.cast_column("audio", Audio(sampling_rate=16_000))
    resampled = minds["train"][0]["audio"]
    assert resampled["sampling_rate"] == 16_000
    assert abs(len(resampled["array"]) - 2 * len(example["audio"]["array"])) <= 1

    def preprocess_function(examples):
        audio_arrays = [x["array"] for x in examples["audio"]]
        inputs = feature_extractor(
            audio_arrays, sampling_rate=feature_extractor.sampling_rate, max_length=16000, truncation=True
        )
        return inputs

    encoded_minds = minds.map(preprocess_function, remove_columns="audio", batched=True)
    # The guide renames intent_class to the name the model expects.
    encoded_minds = encoded_minds.rename_column("intent_class", "label")
    assert set(encoded_minds["train"].column_names) == {"input_values", "label"}
    assert all(len(x) <= 16000 for x in encoded_minds["train"]["input_values"])
    # The preprocessing equals Transformers' feature extractor on the same clips.
    hf_extractor = transformers.AutoFeatureExtractor.from_pretrained(base_dir)
    batch = minds["train"][:4]
    theirs = hf_extractor([x["array"] for x in batch["audio"]], sampling_rate=16000, max_length=16000,
                          truncation=True)
    for ours_row, their_row in zip(encoded_minds["train"][:4]["input_values"], theirs["input_values"]):
        np.testing.assert_allclose(np.asarray(ours_row), their_row, atol=1e-5)

    # Evaluation metric: `evaluate.load("accuracy")` → polymodal.metrics (offline).
    accuracy = polymodal.metrics.load("accuracy")

    def compute_metrics(eval_pred):
        predictions = np.argmax(eval_pred.predictions, axis=1)
        return accuracy.compute(predictions=predictions, references=eval_pred.label_ids)

    # Training.
    from polymodal import AutoModelForAudioClassification, Trainer, TrainingArguments

    num_labels = len(id2label)
    model = AutoModelForAudioClassification.from_pretrained(
        base_dir, num_labels=num_labels, label2id=label2id, id2label=id2label
    )
    assert type(model).__name__ == "Wav2Vec2ForSequenceClassification"
    # Like Transformers, the overrides are kept as given (string ids) until the config is saved.
    assert model.config.id2label[str(2)] == labels[2] and model.config.num_labels == 14

    output_dir = tmp_path / "my_awesome_mind_model"
    training_args = TrainingArguments(
        output_dir=str(output_dir),
        eval_strategy="epoch",
        save_strategy="epoch",
        learning_rate=3e-5,
        per_device_train_batch_size=8,  # guide: 32 (shrunk for a 32-clip subset)
        gradient_accumulation_steps=2,  # guide: 4
        per_device_eval_batch_size=8,  # guide: 32
        num_train_epochs=2,  # guide: 10
        warmup_ratio=0.1,
        logging_steps=10,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        push_to_hub=True,  # offline: the Trainer only warns
        disable_tqdm=True,
    )

    with caplog.at_level(logging.WARNING, logger="polymodal"):
        trainer = Trainer(
            model=model,
            args=training_args,
            train_dataset=encoded_minds["train"],
            eval_dataset=encoded_minds["test"],
            processing_class=feature_extractor,
            compute_metrics=compute_metrics,
        )
    assert "push_to_hub" in caplog.text and "offline" in caplog.text

    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = trainer.train()
    assert result.global_step == 4  # 2 epochs × ceil(32 clips / 8 / 2)
    assert np.isfinite(result.training_loss)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    evals = [entry for entry in trainer.state["log_history"] if "eval_accuracy" in entry]
    assert len(evals) == 2 and all(0.0 <= e["eval_accuracy"] <= 1.0 for e in evals)
    assert sorted(p.name for p in output_dir.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]

    # Offline, push_to_hub() saves the folder and then says clearly that it could not upload it.
    from polymodal.core.errors import HubUnavailableError

    with pytest.raises(HubUnavailableError, match="push_to_hub"):
        trainer.push_to_hub()
    assert (output_dir / "config.json").is_file() and (output_dir / "preprocessor_config.json").is_file()

    # Inference. `load_dataset(...)` + `cast_column` → the bundled set at 16 kHz.
    dataset = polymodal.datasets.load_spoken_intents(split="test")
    dataset = dataset.cast_column("audio", Audio(sampling_rate=16000))
    sampling_rate = dataset.features["audio"].sampling_rate
    audio_file = dataset[0]["audio"]["path"]
    assert sampling_rate == 16000 and audio_file.endswith(".ogg")

    from polymodal import pipeline

    # Guide: model="stevhliu/my_awesome_minds_model" — the folder push_to_hub() saved.
    classifier = pipeline("audio-classification", model=str(output_dir))
    predictions = classifier(audio_file)
    assert len(predictions) == 5 and set(predictions[0]) == {"score", "label"}
    assert all(p["label"] in labels for p in predictions)
    assert predictions == sorted(predictions, key=lambda p: -p["score"])

    # The same by hand: feature extractor → model → argmax → id2label.
    feature_extractor = AutoFeatureExtractor.from_pretrained(str(output_dir))
    inputs = feature_extractor(dataset[0]["audio"]["array"], sampling_rate=sampling_rate, return_tensors="pt")
    model = AutoModelForAudioClassification.from_pretrained(str(output_dir))
    with torch.no_grad():
        logits = model(**inputs).logits
    predicted_class_ids = torch.argmax(logits).item()
    predicted_label = model.config.id2label[predicted_class_ids]
    assert predicted_label == predictions[0]["label"]
    np.testing.assert_allclose(predictions[0]["score"], logits.softmax(-1).max().item(), atol=1e-5)

    # Transformers loads the fine-tuned folder and agrees with both.
    hf_model = transformers.AutoModelForAudioClassification.from_pretrained(str(output_dir)).eval()
    hf_inputs = hf_extractor(dataset[0]["audio"]["array"], sampling_rate=sampling_rate, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(hf_model(**hf_inputs).logits, logits, atol=1e-5, rtol=1e-4)
    assert hf_model.config.id2label[predicted_class_ids] == predicted_label


# ----------------------------------------------------------------------------- 000: feature extractors
@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory):
    """Stands in for "openai/whisper-tiny": a folder holding only preprocessor_config.json."""
    path = tmp_path_factory.mktemp("whisper-tiny")
    polymodal.WhisperFeatureExtractor().save_pretrained(path)
    return str(path)


def _same_features(ours, theirs, key, atol=1e-5):
    assert set(ours) == set(theirs), (set(ours), set(theirs))
    assert len(ours[key]) == len(theirs[key])
    for a, b in zip(ours[key], theirs[key]):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, atol=atol)


def test_feature_extractor_guide_loading(base_dir, whisper_dir):
    from polymodal import AutoFeatureExtractor, WhisperFeatureExtractor

    # AutoFeatureExtractor picks the class from preprocessor_config.json.
    feature_extractor = AutoFeatureExtractor.from_pretrained(whisper_dir)
    assert isinstance(feature_extractor, WhisperFeatureExtractor)
    # The model-specific class loads the same settings.
    feature_extractor = WhisperFeatureExtractor.from_pretrained(whisper_dir)
    theirs = transformers.WhisperFeatureExtractor.from_pretrained(whisper_dir)
    for name in ("feature_size", "sampling_rate", "hop_length", "chunk_length", "n_fft", "padding_value"):
        assert getattr(feature_extractor, name) == getattr(theirs, name), name

    assert type(AutoFeatureExtractor.from_pretrained(base_dir)).__name__ == "Wav2Vec2FeatureExtractor"


def test_feature_extractor_guide_preprocess(base_dir, whisper_dir):
    from polymodal import AutoFeatureExtractor

    # `load_dataset("PolyAI/minds14", name="en-US", split="train")` → the bundled set (8 kHz).
    dataset = polymodal.datasets.load_spoken_intents(split="train")
    feature_extractor = AutoFeatureExtractor.from_pretrained(base_dir)
    hf_extractor = transformers.AutoFeatureExtractor.from_pretrained(base_dir)

    array = dataset[0]["audio"]["array"]
    assert array.ndim == 1 and np.isfinite(array).all()

    # Like the guide, this passes the 8 kHz clip with sampling_rate=16000 (the check only
    # compares the number given with the extractor's rate).
    processed_sample = feature_extractor(dataset[0]["audio"]["array"], sampling_rate=16000)
    assert list(processed_sample) == ["input_values"]
    # Transformers gives a list of 1-D arrays; polymodal a (1, n) array when the rows are the same
    # length. Either way row 0 is the clip's normalised samples.
    assert len(processed_sample["input_values"]) == 1
    assert processed_sample["input_values"][0].shape == (len(array),)
    _same_features(processed_sample, hf_extractor(array, sampling_rate=16000), "input_values")

    # Shapes the page describes: Wav2Vec2 (batch_size, sequence_length) as input_values,
    # Whisper (batch_size, feature_size, sequence_length) as input_features.
    wav2vec2 = feature_extractor(array, sampling_rate=16000, return_tensors="pt")
    assert isinstance(wav2vec2["input_values"], torch.Tensor)
    assert tuple(wav2vec2["input_values"].shape) == (1, len(array))
    whisper = AutoFeatureExtractor.from_pretrained(whisper_dir)
    hf_whisper = transformers.AutoFeatureExtractor.from_pretrained(whisper_dir)
    ours = whisper(array, sampling_rate=16000, return_tensors="pt")
    theirs = hf_whisper(array, sampling_rate=16000, return_tensors="pt")
    assert tuple(ours["input_features"].shape) == (1, 80, 3000) == tuple(theirs["input_features"].shape)
    torch.testing.assert_close(ours["input_features"], theirs["input_features"], atol=1e-4, rtol=1e-4)


def test_feature_extractor_guide_padding_and_truncation(base_dir):
    from polymodal import AutoFeatureExtractor

    dataset = polymodal.datasets.load_spoken_intents(split="train")
    feature_extractor = AutoFeatureExtractor.from_pretrained(base_dir)
    hf_extractor = transformers.AutoFeatureExtractor.from_pretrained(base_dir)
    lengths = [len(dataset[i]["audio"]["array"]) for i in range(5)]
    assert len(set(lengths)) > 1  # the clips differ in length, as on the page

    # Padding: every clip padded with zeros to the longest in the batch.
    def preprocess_function(examples, extractor=feature_extractor):
        audio_arrays = [x["array"] for x in examples["audio"]]
        inputs = extractor(
            audio_arrays,
            sampling_rate=16000,
            padding=True,
        )
        return inputs

    processed_dataset = preprocess_function(dataset[:5])
    assert processed_dataset["input_values"][0].shape == (max(lengths),)
    assert processed_dataset["input_values"][1].shape == (max(lengths),)
    _same_features(processed_dataset, preprocess_function(dataset[:5], hf_extractor), "input_values")

    # Truncation: the page cuts its ~3-6 s clips at max_length=50000; the bundled clips are
    # ~2 s at 8 kHz, so the cut is at 8000 samples to have every clip truncated.
    def preprocess_function(examples, extractor=feature_extractor):
        audio_arrays = [x["array"] for x in examples["audio"]]
        inputs = extractor(
            audio_arrays,
            sampling_rate=16000,
            max_length=8000,  # page: 50000
            truncation=True,
        )
        return inputs

    assert min(lengths) > 8000
    processed_dataset = preprocess_function(dataset[:5])
    assert processed_dataset["input_values"][0].shape == (8000,)
    assert processed_dataset["input_values"][1].shape == (8000,)
    _same_features(processed_dataset, preprocess_function(dataset[:5], hf_extractor), "input_values")


def test_feature_extractor_guide_resampling():
    import soxr

    from polymodal.datasets import Audio

    dataset = polymodal.datasets.load_spoken_intents(split="train")
    before = dataset[0]["audio"]
    assert set(before) == {"path", "array", "sampling_rate"} and before["sampling_rate"] == 8000

    dataset = dataset.cast_column("audio", Audio(sampling_rate=16000))

    after = dataset[0]["audio"]
    assert after["sampling_rate"] == 16000 and after["path"] == before["path"]
    # The oracle: soxr's "HQ" resampler (what librosa, and so `datasets`, use by default).
    expected = soxr.resample(before["array"], 8000, 16000, quality="soxr_hq")
    assert abs(len(after["array"]) - len(expected)) <= 1
    n = min(len(after["array"]), len(expected))
    np.testing.assert_allclose(after["array"][:n], expected[:n], atol=1e-5)


# ----------------------------------------------------------------------------- 004: XLS-R / XLSR-Wav2Vec2
def test_xlsr_ctc_decoding(tmp_path):
    """The pages' usage tips: the model takes the raw waveform as floats, and being CTC-trained
    its outputs are decoded with ``Wav2Vec2CTCTokenizer``. An XLS-R-style (stable layer norm)
    tiny checkpoint saved by Transformers stands in for "facebook/wav2vec2-xls-r-300m"."""
    import soundfile as sf
    from pipeline_helpers import ctc_folder

    from polymodal import AutoModelForCTC, AutoProcessor, Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC, Wav2Vec2Processor

    folder = str(ctc_folder(tmp_path / "xls-r", stable=True, norm="layer"))
    speech, rate = sf.read(str(__import__("pathlib").Path(__file__).parent / "data" / "speech_16k.wav"),
                           dtype="float32")
    assert rate == 16000
    batch = [speech, speech[: len(speech) // 2]]

    processor = Wav2Vec2Processor.from_pretrained(folder)
    model = Wav2Vec2ForCTC.from_pretrained(folder)
    assert isinstance(processor.tokenizer, Wav2Vec2CTCTokenizer)
    assert isinstance(AutoProcessor.from_pretrained(folder), Wav2Vec2Processor)
    assert isinstance(AutoModelForCTC.from_pretrained(folder), Wav2Vec2ForCTC)

    inputs = processor(batch, sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    predicted_ids = torch.argmax(logits, dim=-1)
    transcription = processor.batch_decode(predicted_ids)
    assert len(transcription) == 2 and all(isinstance(t, str) for t in transcription)
    assert processor.decode(predicted_ids[0]) == transcription[0]
    assert processor.tokenizer.decode(predicted_ids[0]) == transcription[0]

    hf_processor = transformers.Wav2Vec2Processor.from_pretrained(folder)
    hf_model = transformers.Wav2Vec2ForCTC.from_pretrained(folder).eval()
    hf_inputs = hf_processor(batch, sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        hf_logits = hf_model(**hf_inputs).logits
    torch.testing.assert_close(logits, hf_logits, atol=1e-4, rtol=1e-4)
    assert transcription == hf_processor.batch_decode(torch.argmax(hf_logits, dim=-1))
    assert any(transcription)  # the helper's model emits text, so decoding is exercised
