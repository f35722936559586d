"""What a reader of README.md / docs/*.md would have on disk, made tiny and offline.

Doc pages call these from hidden ``<!-- test-setup … -->`` comments (see test_docs_code.py);
each builder writes a folder or file at the path the page's code names and returns the path.
Checkpoints are saved by Transformers, as a reader's downloaded folders would be.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"


def speech_file(path: str = "clip.wav", source: str = "speech_16k.wav") -> Path:
    """A short spoken clip (espeak-ng); the extension picks the bundled file of that format."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    source = {".ogg": "speech_16k.ogg", ".flac": "speech_16k.flac", ".mp3": "speech_16k.mp3"}.get(suffix, source)
    shutil.copyfile(DATA / source, target)
    return target


def image_file(path: str = "cat.jpg", size=(64, 48), seed: int = 0) -> Path:
    from PIL import Image

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(target)
    return target


def audio_folder(path: str = "my_audio", labels=("freeze", "balance"), per_label: int = 3) -> Path:
    """Folder-per-class audio (the layout of ``load_audio_folder``)."""
    import soundfile

    audio, rate = soundfile.read(DATA / "speech_16k.wav", dtype="float32")
    rng = np.random.default_rng(0)
    for label in labels:
        folder = Path(path) / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            clip = audio[: rate // 2] * float(rng.uniform(0.5, 1.0))
            soundfile.write(folder / f"{label}_{i}.wav", clip, rate)
    return Path(path)


def wav2vec2_classifier(path: str = "path/to/model", norm: str = "layer") -> Path:
    """A tiny Wav2Vec2ForSequenceClassification folder with its feature extractor."""
    from pipeline_helpers import classifier_folder

    return classifier_folder(Path(path), stable=norm == "layer", norm=norm)


def wav2vec2_ctc(path: str = "path/to/wav2vec2-ctc") -> Path:
    """A tiny Wav2Vec2ForCTC folder with its processor (feature extractor + CTC tokenizer)."""
    from pipeline_helpers import ctc_folder

    return ctc_folder(Path(path))


def clip_model(path: str = "path/to/clip") -> Path:
    """A tiny CLIPModel folder with its tokenizer and image processor."""
    import torch
    import transformers
    from clip_helpers import TEXT, VISION
    from tokenizer_helpers import write_clip_files

    folder = Path(path)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(folder)))
    text = {**TEXT, "vocab_size": len(tokenizer), "max_position_embeddings": 40,
            "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id}
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=VISION, projection_dim=16))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                    crop_size={"height": 30, "width": 30}).save_pretrained(folder)
    return folder


def altclip_model(path: str = "path/to/AltCLIP") -> Path:
    """A tiny AltCLIPModel folder with its processor (XLM-R SentencePiece tokenizer + CLIP images)."""
    import torch
    import transformers
    from clip_helpers import VISION
    from tokenizer_helpers import write_xlm_roberta_files

    folder = Path(path)
    tokenizer = transformers.XLMRobertaTokenizer.from_pretrained(str(write_xlm_roberta_files(folder / "spm")))
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=60, project_dim=24)
    torch.manual_seed(0)
    model = transformers.AltCLIPModel(transformers.AltCLIPConfig(text_config=text, vision_config=VISION,
                                                                 projection_dim=16))
    image_processor = transformers.CLIPImageProcessor(size={"shortest_edge": 30},
                                                      crop_size={"height": 30, "width": 30})
    transformers.AltCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    model.save_pretrained(folder)
    shutil.rmtree(folder / "spm")
    return folder


def wav2vec2_base(path: str = "path/to/wav2vec2-base") -> Path:
    """A tiny pretrained-style Wav2Vec2Model (no head, group norm like wav2vec2-base) + extractor."""
    import transformers
    from wav2vec2_helpers import NO_DROPOUT, hf_model

    folder = Path(path)
    hf_model("Wav2Vec2Model", stable=False, norm="group", **NO_DROPOUT).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(folder)
    return folder


def _labels(names):
    id2label = dict(enumerate(names))
    return {"num_labels": len(names), "id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


def ast_classifier(path: str = "path/to/ast-finetuned-audioset", labels=("dog", "rain", "siren", "speech")) -> Path:
    """A tiny ASTForAudioClassification folder with its feature extractor."""
    import torch
    import transformers

    folder = Path(path)
    config = transformers.ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                    max_length=48, num_mel_bins=32, **_labels(labels))
    torch.manual_seed(0)
    transformers.ASTForAudioClassification(config).save_pretrained(folder)
    transformers.ASTFeatureExtractor(num_mel_bins=32, max_length=48).save_pretrained(folder)
    return folder


def hubert_ctc(path: str = "path/to/hubert-large-ls960-ft") -> Path:
    """A tiny HubertForCTC folder with a Wav2Vec2 processor (what HuBERT checkpoints ship)."""
    import torch
    import transformers
    from pipeline_helpers import CHARS, ctc_folder
    from wav2vec2_helpers import NO_DROPOUT, TINY

    folder = ctc_folder(Path(path))
    torch.manual_seed(0)
    config = transformers.HubertConfig(**{**TINY, **NO_DROPOUT, "vocab_size": len(CHARS), "pad_token_id": 0,
                                          "feat_extract_norm": "layer", "do_stable_layer_norm": True})
    transformers.HubertForCTC(config).save_pretrained(folder)
    return folder


def data2vec_audio_classifier(path: str = "path/to/data2vec-audio-finetuned-ks",
                              labels=("yes", "no", "up", "down")) -> Path:
    import torch
    import transformers
    from wav2vec2_helpers import NO_DROPOUT, TINY

    folder = Path(path)
    torch.manual_seed(0)
    config = transformers.Data2VecAudioConfig(**{**TINY, **NO_DROPOUT, **_labels(labels), "num_conv_pos_embeddings": 5,
                                                 "num_conv_pos_embedding_groups": 2})
    transformers.Data2VecAudioForSequenceClassification(config).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(folder)
    return folder


def align_model(path: str = "path/to/align-base") -> Path:
    """A tiny AlignModel folder (EfficientNet + BERT) with its WordPiece tokenizer and image processor."""
    import torch
    import transformers
    from tokenizer_helpers import write_bert_files

    folder = Path(path)
    write_bert_files(folder)
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    image_processor = transformers.EfficientNetImageProcessor(size={"height": 40, "width": 40})
    transformers.AlignProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    vision = dict(image_size=32, width_coefficient=0.25, depth_coefficient=0.5, hidden_dim=64,
                  kernel_sizes=[3, 5, 3], in_channels=[32, 16, 24], out_channels=[16, 24, 64], strides=[1, 2, 2],
                  num_block_repeats=[1, 2, 4], expand_ratios=[1, 6, 4], depthwise_padding=[2])
    text = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=37, max_position_embeddings=64)
    torch.manual_seed(0)
    transformers.AlignModel(transformers.AlignConfig(text_config=text, vision_config=vision,
                                                     projection_dim=16)).save_pretrained(folder)
    return folder


def chinese_clip_model(path: str = "path/to/chinese-clip-vit-base-patch16") -> Path:
    import torch
    import transformers
    from clip_helpers import VISION
    from tokenizer_helpers import write_bert_files

    folder = Path(path)
    tokenizer = transformers.BertTokenizer.from_pretrained(str(write_bert_files(folder)))
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=64)
    torch.manual_seed(0)
    transformers.ChineseCLIPModel(transformers.ChineseCLIPConfig(text_config=text, vision_config=VISION,
                                                                 projection_dim=16)).save_pretrained(folder)
    image_processor = transformers.ChineseCLIPImageProcessorPil(size={"height": 30, "width": 30}, crop_size=30)
    transformers.ChineseCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def clap_model(path: str = "path/to/clap-htsat-unfused") -> Path:
    """A tiny unfused CLAP (HTSAT on 64 mel bins, 1 s windows at 48 kHz) with its processor."""
    import torch
    import transformers
    from tokenizer_helpers import write_roberta_files

    folder = Path(path)
    tokenizer = transformers.RobertaTokenizer.from_pretrained(str(write_roberta_files(folder)))
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=40)
    audio = dict(spec_size=128, num_mel_bins=64, window_size=4, patch_size=4, patch_stride=[4, 4], depths=[2, 2],
                 num_attention_heads=[2, 4], patch_embeds_hidden_size=8, hidden_size=16, aff_block_r=2)
    torch.manual_seed(0)
    transformers.ClapModel(transformers.ClapConfig(text_config=text, audio_config=audio,
                                                   projection_dim=12)).save_pretrained(folder)
    extractor = transformers.ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480,
                                                  max_length_s=1, fft_window_size=1024, frequency_max=14000,
                                                  truncation="rand_trunc")  # unfused: one channel
    transformers.ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def xclip_model(path: str = "path/to/xclip-base-patch32", frames: int = 8) -> Path:
    import torch
    import transformers
    from tokenizer_helpers import write_clip_files

    folder = Path(path)
    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(write_clip_files(folder)))
    text = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                num_attention_heads=4, max_position_embeddings=40)
    vision = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=30,
                  patch_size=15, num_frames=frames, mit_hidden_size=16, mit_intermediate_size=20,
                  mit_num_attention_heads=2)
    torch.manual_seed(0)
    transformers.XCLIPModel(transformers.XCLIPConfig(text_config=text, vision_config=vision, projection_dim=16,
                                                     prompt_num_attention_heads=2)).save_pretrained(folder)
    image_processor = transformers.CLIPImageProcessorPil(size={"shortest_edge": 30}, crop_size=30)
    transformers.XCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def video_file(path: str = "clip.mp4", frames: int = 16, size=(48, 40), seed: int = 0) -> Path:
    """A short random-noise H.264 video written with PyAV."""
    import av

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8),
                                               format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return target


def vit_classifier(path: str = "path/to/vit-checkpoint", labels=("cat", "dog", "bird"), image_size: int = 32) -> Path:
    """A tiny ViTForImageClassification folder with its image processor."""
    import torch
    import transformers

    folder = Path(path)
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                                    image_size=image_size, patch_size=8, **_labels(labels))
    torch.manual_seed(0)
    transformers.ViTForImageClassification(config).save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": image_size, "width": image_size}).save_pretrained(folder)
    return folder


def image_folder(path: str = "photos", labels=("cat", "dog"), per_label: int = 3) -> Path:
    """Folder-per-class images (the layout of ``load_image_folder``)."""
    for i, label in enumerate(labels):
        for j in range(per_label):
            image_file(str(Path(path) / label / f"{label}_{j}.png"), seed=10 * i + j)
    return Path(path)


def gpt2_lm(path: str = "path/to/gpt2", n_positions: int = 128) -> Path:
    """A tiny GPT2LMHeadModel folder with a byte-level BPE tokenizer trained on a few sentences."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    corpus = ["Hello world, this is a small corpus. Once upon a time there was a tiny model that liked tokens.",
              "The quick brown fox jumps over the lazy dog. My name is Clara and I live in Berkeley."] * 20
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    folder = Path(path)
    tokenizer = transformers.GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>",
                                               eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=32, n_layer=2,
                                     n_head=4, bos_token_id=0, eos_token_id=0)
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


# --- encoder-decoders (issue 16) ---
def whisper_model(path: str = "path/to/whisper-tiny") -> Path:
    """A tiny random multilingual Whisper folder: model, generation config (with alignment heads, as
    OpenAI's checkpoints have, for word timestamps), tokenizer, feature extractor."""
    from whisper_helpers import write_tiny_whisper

    return write_tiny_whisper(Path(path), alignment_heads=[[1, 0], [1, 2]])


def t5_model(path: str = "path/to/t5-small") -> Path:
    """A tiny random T5ForConditionalGeneration with a SentencePiece tokenizer and T5's task prefixes."""
    from seq2seq_helpers import write_tiny_t5_lm

    return write_tiny_t5_lm(Path(path))


def bart_model(path: str = "path/to/bart-base") -> Path:
    """A tiny random BartForConditionalGeneration with a byte-level BPE tokenizer."""
    from seq2seq_helpers import write_tiny_bart_lm

    return write_tiny_bart_lm(Path(path))
