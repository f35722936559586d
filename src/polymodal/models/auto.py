"""One registry: ``model_type`` / class names in checkpoint files → polymodal classes.

Everything is stored as names and imported on first use, so ``import polymodal`` stays fast
and a family that is never used is never imported.

* ``CLASS_MODULES`` maps every public class name to the module defining it.
* ``MODEL_TYPES`` maps a config's ``model_type`` to the class playing each role
  (``config``, ``model``, ``audio_classification``, ``ctc``, ``feature_extractor`` …).
"""

from __future__ import annotations

import importlib

from ..core.errors import CheckpointError, ConfigError

_W2V = "polymodal.models.wav2vec2"
_CLIP = "polymodal.models.clip"
_BERT = "polymodal.models.bert"

CLASS_MODULES: dict[str, str] = {
    # wav2vec2 family
    "Wav2Vec2Config": f"{_W2V}.configuration",
    "Wav2Vec2Model": f"{_W2V}.modeling",
    "Wav2Vec2PreTrainedModel": f"{_W2V}.modeling",
    "Wav2Vec2ForSequenceClassification": f"{_W2V}.modeling",
    "Wav2Vec2ForCTC": f"{_W2V}.modeling",
    "Wav2Vec2FeatureExtractor": f"{_W2V}.feature_extraction",
    "Wav2Vec2CTCTokenizer": f"{_W2V}.tokenization",
    "Wav2Vec2Tokenizer": f"{_W2V}.tokenization",
    "Wav2Vec2Processor": f"{_W2V}.processing",
    # HuBERT and Data2Vec-Audio (wav2vec2's blocks; its preprocessor, tokenizer and processor)
    "HubertConfig": "polymodal.models.hubert.configuration",
    "HubertModel": "polymodal.models.hubert.modeling",
    "HubertForSequenceClassification": "polymodal.models.hubert.modeling",
    "HubertForCTC": "polymodal.models.hubert.modeling",
    "Data2VecAudioConfig": "polymodal.models.data2vec_audio.configuration",
    "Data2VecAudioModel": "polymodal.models.data2vec_audio.modeling",
    "Data2VecAudioForSequenceClassification": "polymodal.models.data2vec_audio.modeling",
    "Data2VecAudioForCTC": "polymodal.models.data2vec_audio.modeling",
    # whisper (front end only)
    "WhisperFeatureExtractor": "polymodal.models.whisper.feature_extraction",
    # encoder-decoders (issue 16): Whisper, BART family, T5
    "WhisperConfig": "polymodal.models.whisper.configuration",
    "WhisperModel": "polymodal.models.whisper.modeling",
    "WhisperForConditionalGeneration": "polymodal.models.whisper.modeling",
    "BartConfig": "polymodal.models.bart.configuration",
    "BartModel": "polymodal.models.bart.modeling",
    "BartForConditionalGeneration": "polymodal.models.bart.modeling",
    "T5Config": "polymodal.models.t5.configuration",
    "T5Model": "polymodal.models.t5.modeling",
    "T5EncoderModel": "polymodal.models.t5.modeling",
    "T5ForConditionalGeneration": "polymodal.models.t5.modeling",
    "T5Tokenizer": "polymodal.models.t5.tokenization",
    "T5TokenizerFast": "polymodal.models.t5.tokenization",
    "ByT5Tokenizer": "polymodal.models.t5.tokenization",
    "BlenderbotConfig": "polymodal.models.blenderbot.configuration",
    "BlenderbotModel": "polymodal.models.blenderbot.modeling",
    "BlenderbotForConditionalGeneration": "polymodal.models.blenderbot.modeling",
    "BlenderbotTokenizer": "polymodal.models.blenderbot.tokenization",
    "BlenderbotTokenizerFast": "polymodal.models.blenderbot.tokenization",
    "BlenderbotSmallConfig": "polymodal.models.blenderbot_small.configuration",
    "BlenderbotSmallModel": "polymodal.models.blenderbot_small.modeling",
    "BlenderbotSmallForConditionalGeneration": "polymodal.models.blenderbot_small.modeling",
    "BlenderbotSmallForCausalLM": "polymodal.models.blenderbot_small.modeling",
    "BlenderbotSmallTokenizer": "polymodal.models.blenderbot_small.tokenization",
    "BlenderbotSmallTokenizerFast": "polymodal.models.blenderbot_small.tokenization",
    "BertGenerationConfig": "polymodal.models.bert_generation.configuration",
    "BertGenerationEncoder": "polymodal.models.bert_generation.modeling",
    "BertGenerationDecoder": "polymodal.models.bert_generation.modeling",
    "BertGenerationTokenizer": "polymodal.models.bert_generation.tokenization",
    "EncoderDecoderConfig": "polymodal.models.encoder_decoder.configuration",
    "EncoderDecoderModel": "polymodal.models.encoder_decoder.modeling",
    "BartTokenizer": "polymodal.models.bart.tokenization",
    "BartTokenizerFast": "polymodal.models.bart.tokenization",
    "BigBirdPegasusConfig": "polymodal.models.bigbird_pegasus.configuration",
    "BigBirdPegasusModel": "polymodal.models.bigbird_pegasus.modeling",
    "BigBirdPegasusPreTrainedModel": "polymodal.models.bigbird_pegasus.modeling",
    "BigBirdPegasusForConditionalGeneration": "polymodal.models.bigbird_pegasus.modeling",
    "BigBirdPegasusForSequenceClassification": "polymodal.models.bigbird_pegasus.modeling",
    "BigBirdPegasusForQuestionAnswering": "polymodal.models.bigbird_pegasus.modeling",
    "BigBirdPegasusForCausalLM": "polymodal.models.bigbird_pegasus.modeling",
    "PegasusTokenizer": "polymodal.models.pegasus.tokenization",
    "PegasusTokenizerFast": "polymodal.models.pegasus.tokenization",
    "WhisperTokenizer": "polymodal.models.whisper.tokenization",
    "WhisperTokenizerFast": "polymodal.models.whisper.tokenization",
    "WhisperProcessor": "polymodal.models.whisper.processing",
    # audio spectrogram transformer
    "ASTFeatureExtractor": "polymodal.models.audio_spectrogram_transformer.feature_extraction",
    "ASTConfig": "polymodal.models.audio_spectrogram_transformer.configuration",
    "ASTModel": "polymodal.models.audio_spectrogram_transformer.modeling",
    "ASTForAudioClassification": "polymodal.models.audio_spectrogram_transformer.modeling",
    # log-mel CNN classifier (polymodal's own small audio model, used by the demo)
    "LogMelClassifierConfig": "polymodal.models.logmel_cnn.configuration",
    "LogMelClassifierForSequenceClassification": "polymodal.models.logmel_cnn.modeling",
    # BERT-like text towers
    "BertConfig": f"{_BERT}.configuration",
    "BertModel": f"{_BERT}.modeling",
    "BertTokenizer": "polymodal.models.bert.tokenization",
    "BertTokenizerFast": "polymodal.models.bert.tokenization",
    "XLMRobertaConfig": f"{_BERT}.configuration",
    "XLMRobertaModel": f"{_BERT}.modeling",
    "XLMRobertaTokenizer": "polymodal.models.xlm_roberta.tokenization",
    "XLMRobertaTokenizerFast": "polymodal.models.xlm_roberta.tokenization",
    "RobertaConfig": f"{_BERT}.configuration",
    "RobertaModel": f"{_BERT}.modeling",
    "RobertaTokenizer": "polymodal.models.roberta.tokenization",
    "RobertaTokenizerFast": "polymodal.models.roberta.tokenization",
    # CLIP
    "CLIPConfig": f"{_CLIP}.configuration",
    "CLIPTextConfig": f"{_CLIP}.configuration",
    "CLIPVisionConfig": f"{_CLIP}.configuration",
    "CLIPModel": f"{_CLIP}.modeling",
    "CLIPTextModel": f"{_CLIP}.modeling",
    "CLIPVisionModel": f"{_CLIP}.modeling",
    "CLIPTextModelWithProjection": f"{_CLIP}.modeling",
    "CLIPVisionModelWithProjection": f"{_CLIP}.modeling",
    "CLIPImageProcessor": f"{_CLIP}.image_processing",
    "CLIPImageProcessorFast": f"{_CLIP}.image_processing",
    "CLIPTokenizer": "polymodal.models.clip.tokenization",
    "CLIPTokenizerFast": "polymodal.models.clip.tokenization",
    "CLIPProcessor": f"{_CLIP}.processing",
    # AltCLIP
    "AltCLIPConfig": "polymodal.models.altclip.configuration",
    "AltCLIPTextConfig": "polymodal.models.altclip.configuration",
    "AltCLIPVisionConfig": "polymodal.models.altclip.configuration",
    "AltCLIPModel": "polymodal.models.altclip.modeling",
    "AltCLIPTextModel": "polymodal.models.altclip.modeling",
    "AltCLIPVisionModel": "polymodal.models.altclip.modeling",
    "AltCLIPProcessor": "polymodal.models.altclip.processing",
    # ALIGN
    "AlignConfig": "polymodal.models.align.configuration",
    "AlignTextConfig": "polymodal.models.align.configuration",
    "AlignVisionConfig": "polymodal.models.align.configuration",
    "AlignModel": "polymodal.models.align.modeling",
    "AlignTextModel": "polymodal.models.align.modeling",
    "AlignVisionModel": "polymodal.models.align.modeling",
    "AlignProcessor": "polymodal.models.align.processing",
    "EfficientNetImageProcessor": "polymodal.models.align.image_processing",
    "EfficientNetImageProcessorFast": "polymodal.models.align.image_processing",
    # CLAP
    "ClapConfig": "polymodal.models.clap.configuration",
    "ClapTextConfig": "polymodal.models.clap.configuration",
    "ClapAudioConfig": "polymodal.models.clap.configuration",
    "ClapModel": "polymodal.models.clap.modeling",
    "ClapTextModel": "polymodal.models.clap.modeling",
    "ClapAudioModel": "polymodal.models.clap.modeling",
    "ClapTextModelWithProjection": "polymodal.models.clap.modeling",
    "ClapAudioModelWithProjection": "polymodal.models.clap.modeling",
    "ClapFeatureExtractor": "polymodal.models.clap.feature_extraction",
    "ClapProcessor": "polymodal.models.clap.processing",
    # X-CLIP
    "XCLIPConfig": "polymodal.models.x_clip.configuration",
    "XCLIPTextConfig": "polymodal.models.x_clip.configuration",
    "XCLIPVisionConfig": "polymodal.models.x_clip.configuration",
    "XCLIPModel": "polymodal.models.x_clip.modeling",
    "XCLIPTextModel": "polymodal.models.x_clip.modeling",
    "XCLIPVisionModel": "polymodal.models.x_clip.modeling",
    "XCLIPProcessor": "polymodal.models.x_clip.processing",
    # Chinese-CLIP
    "ChineseCLIPConfig": "polymodal.models.chinese_clip.configuration",
    "ChineseCLIPTextConfig": "polymodal.models.chinese_clip.configuration",
    "ChineseCLIPVisionConfig": "polymodal.models.chinese_clip.configuration",
    "ChineseCLIPModel": "polymodal.models.chinese_clip.modeling",
    "ChineseCLIPTextModel": "polymodal.models.chinese_clip.modeling",
    "ChineseCLIPVisionModel": "polymodal.models.chinese_clip.modeling",
    "ChineseCLIPImageProcessor": "polymodal.models.chinese_clip.image_processing",
    "ChineseCLIPImageProcessorFast": "polymodal.models.chinese_clip.image_processing",
    "ChineseCLIPProcessor": "polymodal.models.chinese_clip.processing",
    # --- text encoders and their heads (issue 14) ---
    "BertForMaskedLM": "polymodal.models.bert.heads",
    "BertForSequenceClassification": "polymodal.models.bert.heads",
    "BertForTokenClassification": "polymodal.models.bert.heads",
    "BertForQuestionAnswering": "polymodal.models.bert.heads",
    "BertForMultipleChoice": "polymodal.models.bert.heads",
    "RobertaForMaskedLM": "polymodal.models.roberta.modeling",
    "RobertaForSequenceClassification": "polymodal.models.roberta.modeling",
    "RobertaForTokenClassification": "polymodal.models.roberta.modeling",
    "RobertaForQuestionAnswering": "polymodal.models.roberta.modeling",
    "RobertaForMultipleChoice": "polymodal.models.roberta.modeling",
    "XLMRobertaForMaskedLM": "polymodal.models.xlm_roberta.modeling",
    "XLMRobertaForSequenceClassification": "polymodal.models.xlm_roberta.modeling",
    "XLMRobertaForTokenClassification": "polymodal.models.xlm_roberta.modeling",
    "XLMRobertaForQuestionAnswering": "polymodal.models.xlm_roberta.modeling",
    "XLMRobertaForMultipleChoice": "polymodal.models.xlm_roberta.modeling",
    "CamembertForMaskedLM": "polymodal.models.camembert.modeling",
    "CamembertForSequenceClassification": "polymodal.models.camembert.modeling",
    "CamembertForTokenClassification": "polymodal.models.camembert.modeling",
    "CamembertForQuestionAnswering": "polymodal.models.camembert.modeling",
    "CamembertForMultipleChoice": "polymodal.models.camembert.modeling",
    "Data2VecTextForMaskedLM": "polymodal.models.data2vec_text.modeling",
    "Data2VecTextForSequenceClassification": "polymodal.models.data2vec_text.modeling",
    "Data2VecTextForTokenClassification": "polymodal.models.data2vec_text.modeling",
    "Data2VecTextForQuestionAnswering": "polymodal.models.data2vec_text.modeling",
    "Data2VecTextForMultipleChoice": "polymodal.models.data2vec_text.modeling",
    "CamembertConfig": "polymodal.models.camembert.configuration",
    "CamembertTokenizer": "polymodal.models.camembert.tokenization",
    "CamembertTokenizerFast": "polymodal.models.camembert.tokenization",
    "CamembertModel": "polymodal.models.camembert.modeling",
    "Data2VecTextConfig": "polymodal.models.data2vec_text.configuration",
    "Data2VecTextModel": "polymodal.models.data2vec_text.modeling",
    "DistilBertModel": "polymodal.models.distilbert.modeling",
    "DistilBertForMaskedLM": "polymodal.models.distilbert.modeling",
    "DistilBertForSequenceClassification": "polymodal.models.distilbert.modeling",
    "DistilBertForTokenClassification": "polymodal.models.distilbert.modeling",
    "DistilBertForQuestionAnswering": "polymodal.models.distilbert.modeling",
    "DistilBertForMultipleChoice": "polymodal.models.distilbert.modeling",
    "DistilBertConfig": "polymodal.models.distilbert.configuration",
    "DistilBertTokenizer": "polymodal.models.distilbert.tokenization",
    "DistilBertTokenizerFast": "polymodal.models.distilbert.tokenization",
    "AlbertModel": "polymodal.models.albert.modeling",
    "AlbertForMaskedLM": "polymodal.models.albert.modeling",
    "AlbertForSequenceClassification": "polymodal.models.albert.modeling",
    "AlbertForTokenClassification": "polymodal.models.albert.modeling",
    "AlbertForQuestionAnswering": "polymodal.models.albert.modeling",
    "AlbertForMultipleChoice": "polymodal.models.albert.modeling",
    "AlbertConfig": "polymodal.models.albert.configuration",
    "AlbertTokenizer": "polymodal.models.albert.tokenization",
    "AlbertTokenizerFast": "polymodal.models.albert.tokenization",
    "DebertaModel": "polymodal.models.deberta.modeling",
    "DebertaPreTrainedModel": "polymodal.models.deberta.modeling",
    "DebertaForMaskedLM": "polymodal.models.deberta.modeling",
    "DebertaForSequenceClassification": "polymodal.models.deberta.modeling",
    "DebertaForTokenClassification": "polymodal.models.deberta.modeling",
    "DebertaForQuestionAnswering": "polymodal.models.deberta.modeling",
    "DebertaConfig": "polymodal.models.deberta.configuration",
    "DebertaTokenizer": "polymodal.models.deberta.tokenization",
    "DebertaTokenizerFast": "polymodal.models.deberta.tokenization",
    "DebertaV2Model": "polymodal.models.deberta_v2.modeling",
    "DebertaV2PreTrainedModel": "polymodal.models.deberta_v2.modeling",
    "DebertaV2ForMaskedLM": "polymodal.models.deberta_v2.modeling",
    "DebertaV2ForSequenceClassification": "polymodal.models.deberta_v2.modeling",
    "DebertaV2ForTokenClassification": "polymodal.models.deberta_v2.modeling",
    "DebertaV2ForQuestionAnswering": "polymodal.models.deberta_v2.modeling",
    "DebertaV2ForMultipleChoice": "polymodal.models.deberta_v2.modeling",
    "DebertaV2Config": "polymodal.models.deberta_v2.configuration",
    "DebertaV2Tokenizer": "polymodal.models.deberta_v2.tokenization",
    "DebertaV2TokenizerFast": "polymodal.models.deberta_v2.tokenization",
    "ConvBertModel": "polymodal.models.convbert.modeling",
    "ConvBertPreTrainedModel": "polymodal.models.convbert.modeling",
    "ConvBertForMaskedLM": "polymodal.models.convbert.modeling",
    "ConvBertForSequenceClassification": "polymodal.models.convbert.modeling",
    "ConvBertForTokenClassification": "polymodal.models.convbert.modeling",
    "ConvBertForQuestionAnswering": "polymodal.models.convbert.modeling",
    "ConvBertForMultipleChoice": "polymodal.models.convbert.modeling",
    "ConvBertConfig": "polymodal.models.convbert.configuration",
    "ConvBertTokenizer": "polymodal.models.convbert.tokenization",
    "ConvBertTokenizerFast": "polymodal.models.convbert.tokenization",
    "BertJapaneseTokenizer": "polymodal.models.bert_japanese.tokenization",
    "CanineModel": "polymodal.models.canine.modeling",
    "CaninePreTrainedModel": "polymodal.models.canine.modeling",
    "CanineForSequenceClassification": "polymodal.models.canine.modeling",
    "CanineForTokenClassification": "polymodal.models.canine.modeling",
    "CanineForQuestionAnswering": "polymodal.models.canine.modeling",
    "CanineForMultipleChoice": "polymodal.models.canine.modeling",
    "CanineConfig": "polymodal.models.canine.configuration",
    "CanineTokenizer": "polymodal.models.canine.tokenization",
    "BigBirdConfig": "polymodal.models.big_bird.configuration",
    "BigBirdModel": "polymodal.models.big_bird.modeling",
    "BigBirdPreTrainedModel": "polymodal.models.big_bird.modeling",
    "BigBirdForMaskedLM": "polymodal.models.big_bird.modeling",
    "BigBirdForCausalLM": "polymodal.models.big_bird.modeling",
    "BigBirdForPreTraining": "polymodal.models.big_bird.modeling",
    "BigBirdForSequenceClassification": "polymodal.models.big_bird.modeling",
    "BigBirdForTokenClassification": "polymodal.models.big_bird.modeling",
    "BigBirdForQuestionAnswering": "polymodal.models.big_bird.modeling",
    "BigBirdForMultipleChoice": "polymodal.models.big_bird.modeling",
    "BigBirdTokenizer": "polymodal.models.big_bird.tokenization",
    "BigBirdTokenizerFast": "polymodal.models.big_bird.tokenization",
    # --- end text encoders ---
    # --- vision backbones / image classification (issue 15) ---
    "ViTConfig": "polymodal.models.vit.configuration",
    "ViTModel": "polymodal.models.vit.modeling",
    "ViTPreTrainedModel": "polymodal.models.vit.modeling",
    "ViTForImageClassification": "polymodal.models.vit.modeling",
    "ViTForMaskedImageModeling": "polymodal.models.vit.modeling",
    "ViTImageProcessor": "polymodal.models.vit.image_processing",
    "ViTImageProcessorFast": "polymodal.models.vit.image_processing",
    "DeiTConfig": "polymodal.models.deit.configuration",
    "DeiTModel": "polymodal.models.deit.modeling",
    "DeiTPreTrainedModel": "polymodal.models.deit.modeling",
    "DeiTForImageClassification": "polymodal.models.deit.modeling",
    "DeiTForImageClassificationWithTeacher": "polymodal.models.deit.modeling",
    "DeiTForMaskedImageModeling": "polymodal.models.deit.modeling",
    "DeiTImageProcessor": "polymodal.models.deit.image_processing",
    "DeiTImageProcessorFast": "polymodal.models.deit.image_processing",
    "ResNetConfig": "polymodal.models.resnet.configuration",
    "ResNetModel": "polymodal.models.resnet.modeling",
    "ResNetPreTrainedModel": "polymodal.models.resnet.modeling",
    "ResNetForImageClassification": "polymodal.models.resnet.modeling",
    "MobileNetV2Config": "polymodal.models.mobilenet_v2.configuration",
    "MobileNetV2Model": "polymodal.models.mobilenet_v2.modeling",
    "MobileNetV2PreTrainedModel": "polymodal.models.mobilenet_v2.modeling",
    "MobileNetV2ForImageClassification": "polymodal.models.mobilenet_v2.modeling",
    "MobileNetV2ImageProcessor": "polymodal.models.mobilenet_v2.image_processing",
    "MobileNetV2ImageProcessorFast": "polymodal.models.mobilenet_v2.image_processing",
    "ConvNextImageProcessor": "polymodal.models.convnext.image_processing",
    "ConvNextImageProcessorFast": "polymodal.models.convnext.image_processing",
    "ConvNextConfig": "polymodal.models.convnext.configuration",
    "ConvNextModel": "polymodal.models.convnext.modeling",
    "ConvNextPreTrainedModel": "polymodal.models.convnext.modeling",
    "ConvNextForImageClassification": "polymodal.models.convnext.modeling",
    "ConvNextV2Config": "polymodal.models.convnextv2.configuration",
    "ConvNextV2Model": "polymodal.models.convnextv2.modeling",
    "ConvNextV2PreTrainedModel": "polymodal.models.convnextv2.modeling",
    "ConvNextV2ForImageClassification": "polymodal.models.convnextv2.modeling",
    "BeitConfig": "polymodal.models.beit.configuration",
    "BeitModel": "polymodal.models.beit.modeling",
    "BeitPreTrainedModel": "polymodal.models.beit.modeling",
    "BeitForImageClassification": "polymodal.models.beit.modeling",
    "BeitForMaskedImageModeling": "polymodal.models.beit.modeling",
    "BeitImageProcessor": "polymodal.models.beit.image_processing",
    "BeitImageProcessorFast": "polymodal.models.beit.image_processing",
    "Data2VecVisionConfig": "polymodal.models.data2vec_vision.configuration",
    "Data2VecVisionModel": "polymodal.models.data2vec_vision.modeling",
    "Data2VecVisionPreTrainedModel": "polymodal.models.data2vec_vision.modeling",
    "Data2VecVisionForImageClassification": "polymodal.models.data2vec_vision.modeling",
    "BitConfig": "polymodal.models.bit.configuration",
    "BitModel": "polymodal.models.bit.modeling",
    "BitPreTrainedModel": "polymodal.models.bit.modeling",
    "BitForImageClassification": "polymodal.models.bit.modeling",
    "BitImageProcessor": "polymodal.models.bit.image_processing",
    "BitImageProcessorFast": "polymodal.models.bit.image_processing",
    "CvtConfig": "polymodal.models.cvt.configuration",
    "CvtModel": "polymodal.models.cvt.modeling",
    "CvtPreTrainedModel": "polymodal.models.cvt.modeling",
    "CvtForImageClassification": "polymodal.models.cvt.modeling",
    "DinatConfig": "polymodal.models.dinat.configuration",
    "DinatModel": "polymodal.models.dinat.modeling",
    "DinatPreTrainedModel": "polymodal.models.dinat.modeling",
    "DinatForImageClassification": "polymodal.models.dinat.modeling",
    # --- end vision backbones ---
    # --- decoder language models (issue 13) ---
    "GPT2Config": "polymodal.models.gpt2.configuration",
    "GPT2Model": "polymodal.models.gpt2.modeling",
    "GPT2PreTrainedModel": "polymodal.models.gpt2.modeling",
    "GPT2LMHeadModel": "polymodal.models.gpt2.modeling",
    "GPT2ForSequenceClassification": "polymodal.models.gpt2.modeling",
    "LlamaConfig": "polymodal.models.llama.configuration",
    "LlamaModel": "polymodal.models.llama.modeling",
    "LlamaPreTrainedModel": "polymodal.models.llama.modeling",
    "LlamaForCausalLM": "polymodal.models.llama.modeling",
    "LlamaForSequenceClassification": "polymodal.models.llama.modeling",
    "GPT2Tokenizer": "polymodal.models.gpt2.tokenization",
    "GPT2TokenizerFast": "polymodal.models.gpt2.tokenization",
    "LlamaTokenizer": "polymodal.models.llama.tokenization",
    "LlamaTokenizerFast": "polymodal.models.llama.tokenization",
    "CodeLlamaTokenizer": "polymodal.models.llama.tokenization",
    "CodeLlamaTokenizerFast": "polymodal.models.llama.tokenization",
    "OPTConfig": "polymodal.models.opt.configuration",
    "OPTModel": "polymodal.models.opt.modeling",
    "OPTPreTrainedModel": "polymodal.models.opt.modeling",
    "OPTForCausalLM": "polymodal.models.opt.modeling",
    "OPTForSequenceClassification": "polymodal.models.opt.modeling",
    "BloomConfig": "polymodal.models.bloom.configuration",
    "BloomModel": "polymodal.models.bloom.modeling",
    "BloomPreTrainedModel": "polymodal.models.bloom.modeling",
    "BloomForCausalLM": "polymodal.models.bloom.modeling",
    "BloomForSequenceClassification": "polymodal.models.bloom.modeling",
    "BloomTokenizer": "polymodal.models.bloom.tokenization",
    "BloomTokenizerFast": "polymodal.models.bloom.tokenization",
    "CodeGenConfig": "polymodal.models.codegen.configuration",
    "CodeGenModel": "polymodal.models.codegen.modeling",
    "CodeGenPreTrainedModel": "polymodal.models.codegen.modeling",
    "CodeGenForCausalLM": "polymodal.models.codegen.modeling",
    "CodeGenTokenizer": "polymodal.models.codegen.tokenization",
    "CodeGenTokenizerFast": "polymodal.models.codegen.tokenization",
    "BioGptConfig": "polymodal.models.biogpt.configuration",
    "BioGptModel": "polymodal.models.biogpt.modeling",
    "BioGptPreTrainedModel": "polymodal.models.biogpt.modeling",
    "BioGptForCausalLM": "polymodal.models.biogpt.modeling",
    "BioGptForSequenceClassification": "polymodal.models.biogpt.modeling",
    "BioGptForTokenClassification": "polymodal.models.biogpt.modeling",
    "BioGptTokenizer": "polymodal.models.biogpt.tokenization",
    "CTRLConfig": "polymodal.models.ctrl.configuration",
    "CTRLModel": "polymodal.models.ctrl.modeling",
    "CTRLPreTrainedModel": "polymodal.models.ctrl.modeling",
    "CTRLLMHeadModel": "polymodal.models.ctrl.modeling",
    "CTRLForSequenceClassification": "polymodal.models.ctrl.modeling",
    "CTRLTokenizer": "polymodal.models.ctrl.tokenization",
    "DecisionTransformerConfig": "polymodal.models.decision_transformer.configuration",
    "DecisionTransformerModel": "polymodal.models.decision_transformer.modeling",
    "DecisionTransformerGPT2Model": "polymodal.models.decision_transformer.modeling",
    "DecisionTransformerPreTrainedModel": "polymodal.models.decision_transformer.modeling",
    # --- remaining tokenizers (issues 13, 14, 16) and mBART ---
    "BertweetTokenizer": "polymodal.models.bertweet.tokenization",
    "CpmTokenizer": "polymodal.models.cpm.tokenization",
    "CpmTokenizerFast": "polymodal.models.cpm.tokenization",
    "BarthezTokenizer": "polymodal.models.barthez.tokenization",
    "BarthezTokenizerFast": "polymodal.models.barthez.tokenization",
    "BartphoTokenizer": "polymodal.models.bartpho.tokenization",
    "MBartConfig": "polymodal.models.mbart.configuration",
    "MBartModel": "polymodal.models.mbart.modeling",
    "MBartPreTrainedModel": "polymodal.models.mbart.modeling",
    "MBartForConditionalGeneration": "polymodal.models.mbart.modeling",
    # --- end remaining tokenizers ---
    # --- end decoder language models ---
}

# --- text encoders (issue 14) ---
_TEXT_HEADS = {"masked_lm": "ForMaskedLM", "sequence_classification": "ForSequenceClassification",
               "token_classification": "ForTokenClassification", "question_answering": "ForQuestionAnswering",
               "multiple_choice": "ForMultipleChoice"}


def _text_encoder_roles(family: str, tokenizer: str) -> dict[str, str]:
    """The roles of a BERT-like family: config, model, tokenizer and one class per task head."""
    roles = {"config": f"{family}Config", "model": f"{family}Model", "tokenizer": tokenizer}
    roles.update({role: family + suffix for role, suffix in _TEXT_HEADS.items()})
    return roles
# --- end text encoders ---


# model_type -> role -> class name
MODEL_TYPES: dict[str, dict[str, str]] = {
    "wav2vec2": {
        "config": "Wav2Vec2Config",
        "model": "Wav2Vec2Model",
        "audio_classification": "Wav2Vec2ForSequenceClassification",
        "ctc": "Wav2Vec2ForCTC",
        "feature_extractor": "Wav2Vec2FeatureExtractor",
        "tokenizer": "Wav2Vec2CTCTokenizer",
        "processor": "Wav2Vec2Processor",
    },
    "hubert": {
        "config": "HubertConfig",
        "model": "HubertModel",
        "audio_classification": "HubertForSequenceClassification",
        "ctc": "HubertForCTC",
        "feature_extractor": "Wav2Vec2FeatureExtractor",
        "tokenizer": "Wav2Vec2CTCTokenizer",
        "processor": "Wav2Vec2Processor",
    },
    "data2vec-audio": {
        "config": "Data2VecAudioConfig",
        "model": "Data2VecAudioModel",
        "audio_classification": "Data2VecAudioForSequenceClassification",
        "ctc": "Data2VecAudioForCTC",
        "feature_extractor": "Wav2Vec2FeatureExtractor",
        "tokenizer": "Wav2Vec2CTCTokenizer",
        "processor": "Wav2Vec2Processor",
    },
    "whisper": {  # issue 16
        "config": "WhisperConfig",
        "model": "WhisperModel",
        "speech_seq2seq": "WhisperForConditionalGeneration",
        "feature_extractor": "WhisperFeatureExtractor",
        "tokenizer": "WhisperTokenizer",
        "processor": "WhisperProcessor",
    },
    "bart": {"config": "BartConfig", "model": "BartModel", "seq2seq_lm": "BartForConditionalGeneration",  # issue 16
             "tokenizer": "BartTokenizer"},
    "blenderbot": {"config": "BlenderbotConfig", "model": "BlenderbotModel",  # issue 16
                   "seq2seq_lm": "BlenderbotForConditionalGeneration", "tokenizer": "BlenderbotTokenizer"},
    "blenderbot-small": {"config": "BlenderbotSmallConfig", "model": "BlenderbotSmallModel",  # issue 16
                         "seq2seq_lm": "BlenderbotSmallForConditionalGeneration",
                         "causal_lm": "BlenderbotSmallForCausalLM",
                         "tokenizer": "BlenderbotSmallTokenizer"},
    "bert-generation": {"config": "BertGenerationConfig", "model": "BertGenerationEncoder",  # issue 16
                        "causal_lm": "BertGenerationDecoder", "tokenizer": "BertGenerationTokenizer"},
    "encoder-decoder": {"config": "EncoderDecoderConfig", "model": "EncoderDecoderModel",  # issue 16
                        "seq2seq_lm": "EncoderDecoderModel"},
    "bigbird_pegasus": {"config": "BigBirdPegasusConfig", "model": "BigBirdPegasusModel",  # issue 16
                        "seq2seq_lm": "BigBirdPegasusForConditionalGeneration", "tokenizer": "PegasusTokenizer",
                        "sequence_classification": "BigBirdPegasusForSequenceClassification",
                        "question_answering": "BigBirdPegasusForQuestionAnswering",
                        "causal_lm": "BigBirdPegasusForCausalLM"},
    "t5": {"config": "T5Config", "model": "T5Model", "seq2seq_lm": "T5ForConditionalGeneration",  # issue 16
           "tokenizer": "T5Tokenizer"},
    "audio-spectrogram-transformer": {
        "config": "ASTConfig",
        "model": "ASTModel",
        "audio_classification": "ASTForAudioClassification",
        "feature_extractor": "ASTFeatureExtractor",
    },
    "logmel_cnn": {
        "config": "LogMelClassifierConfig",
        "audio_classification": "LogMelClassifierForSequenceClassification",
        "model": "LogMelClassifierForSequenceClassification",
        "feature_extractor": "WhisperFeatureExtractor",
    },
    # --- text encoders and their heads (issue 14) ---
    "bert": _text_encoder_roles("Bert", "BertTokenizer"),
    "roberta": _text_encoder_roles("Roberta", "RobertaTokenizer"),
    "xlm-roberta": _text_encoder_roles("XLMRoberta", "XLMRobertaTokenizer"),
    "camembert": _text_encoder_roles("Camembert", "CamembertTokenizer"),
    "data2vec-text": _text_encoder_roles("Data2VecText", "RobertaTokenizer"),
    "distilbert": _text_encoder_roles("DistilBert", "DistilBertTokenizer"),
    "albert": _text_encoder_roles("Albert", "AlbertTokenizer"),
    "deberta": {k: v for k, v in _text_encoder_roles("Deberta", "DebertaTokenizer").items()
                if k != "multiple_choice"},  # Transformers has no DebertaForMultipleChoice
    "deberta-v2": _text_encoder_roles("DebertaV2", "DebertaV2Tokenizer"),
    "convbert": _text_encoder_roles("ConvBert", "ConvBertTokenizer"),
    "canine": {k: v for k, v in _text_encoder_roles("Canine", "CanineTokenizer").items()
               if k != "masked_lm"},  # CANINE has no masked-LM head in Transformers
    "big_bird": {**_text_encoder_roles("BigBird", "BigBirdTokenizer"), "causal_lm": "BigBirdForCausalLM"},
    # --- end text encoders ---
    "clip": {
        "config": "CLIPConfig",
        "model": "CLIPModel",
        "zero_shot_image_classification": "CLIPModel",
        "image_processor": "CLIPImageProcessor",
        "tokenizer": "CLIPTokenizer",
        "processor": "CLIPProcessor",
    },
    "clip_text_model": {"config": "CLIPTextConfig", "model": "CLIPTextModel"},
    "clip_vision_model": {"config": "CLIPVisionConfig", "model": "CLIPVisionModel"},
    "altclip": {
        "config": "AltCLIPConfig",
        "model": "AltCLIPModel",
        "zero_shot_image_classification": "AltCLIPModel",
        "image_processor": "CLIPImageProcessor",
        "tokenizer": "XLMRobertaTokenizer",
        "processor": "AltCLIPProcessor",
    },
    "altclip_text_model": {"config": "AltCLIPTextConfig", "model": "AltCLIPTextModel"},
    "altclip_vision_model": {"config": "AltCLIPVisionConfig", "model": "AltCLIPVisionModel"},
    "align": {
        "config": "AlignConfig",
        "model": "AlignModel",
        "zero_shot_image_classification": "AlignModel",
        "image_processor": "EfficientNetImageProcessor",
        "tokenizer": "BertTokenizer",
        "processor": "AlignProcessor",
    },
    "align_text_model": {"config": "AlignTextConfig", "model": "AlignTextModel"},
    "align_vision_model": {"config": "AlignVisionConfig", "model": "AlignVisionModel"},
    "clap": {
        "config": "ClapConfig",
        "model": "ClapModel",
        "zero_shot_audio_classification": "ClapModel",
        "feature_extractor": "ClapFeatureExtractor",
        "tokenizer": "RobertaTokenizer",
        "processor": "ClapProcessor",
    },
    "clap_text_model": {"config": "ClapTextConfig", "model": "ClapTextModel"},
    "clap_audio_model": {"config": "ClapAudioConfig", "model": "ClapAudioModel"},
    "xclip": {
        "config": "XCLIPConfig",
        "model": "XCLIPModel",
        "image_processor": "CLIPImageProcessor",
        "tokenizer": "CLIPTokenizer",
        "processor": "XCLIPProcessor",
    },
    "xclip_text_model": {"config": "XCLIPTextConfig", "model": "XCLIPTextModel"},
    "xclip_vision_model": {"config": "XCLIPVisionConfig", "model": "XCLIPVisionModel"},
    "chinese_clip": {
        "config": "ChineseCLIPConfig",
        "model": "ChineseCLIPModel",
        "zero_shot_image_classification": "ChineseCLIPModel",
        "image_processor": "ChineseCLIPImageProcessor",
        "tokenizer": "BertTokenizer",
        "processor": "ChineseCLIPProcessor",
    },
    "chinese_clip_text_model": {"config": "ChineseCLIPTextConfig", "model": "ChineseCLIPTextModel"},
    "chinese_clip_vision_model": {"config": "ChineseCLIPVisionConfig", "model": "ChineseCLIPVisionModel"},
    # --- vision backbones / image classification (issue 15) ---
    "vit": {"config": "ViTConfig", "model": "ViTModel", "image_classification": "ViTForImageClassification",
            "masked_image_modeling": "ViTForMaskedImageModeling", "image_processor": "ViTImageProcessor"},
    "deit": {"config": "DeiTConfig", "model": "DeiTModel", "image_classification": "DeiTForImageClassification",
             "masked_image_modeling": "DeiTForMaskedImageModeling", "image_processor": "DeiTImageProcessor"},
    "resnet": {"config": "ResNetConfig", "model": "ResNetModel", "image_classification": "ResNetForImageClassification",
               "image_processor": "ConvNextImageProcessor"},
    "mobilenet_v2": {"config": "MobileNetV2Config", "model": "MobileNetV2Model",
                     "image_classification": "MobileNetV2ForImageClassification",
                     "image_processor": "MobileNetV2ImageProcessor"},
    "convnext": {"config": "ConvNextConfig", "model": "ConvNextModel",
                 "image_classification": "ConvNextForImageClassification", "image_processor": "ConvNextImageProcessor"},
    "convnextv2": {"config": "ConvNextV2Config", "model": "ConvNextV2Model",
                   "image_classification": "ConvNextV2ForImageClassification",
                   "image_processor": "ConvNextImageProcessor"},
    "beit": {"config": "BeitConfig", "model": "BeitModel", "image_classification": "BeitForImageClassification",
             "image_processor": "BeitImageProcessor"},
    "data2vec-vision": {"config": "Data2VecVisionConfig", "model": "Data2VecVisionModel",
                        "image_classification": "Data2VecVisionForImageClassification",
                        "image_processor": "BeitImageProcessor"},
    "bit": {"config": "BitConfig", "model": "BitModel", "image_classification": "BitForImageClassification",
            "image_processor": "BitImageProcessor"},
    "cvt": {"config": "CvtConfig", "model": "CvtModel", "image_classification": "CvtForImageClassification",
            "image_processor": "ConvNextImageProcessor"},
    "dinat": {"config": "DinatConfig", "model": "DinatModel", "image_classification": "DinatForImageClassification",
              "image_processor": "ViTImageProcessor"},
    # --- end vision backbones ---
    # --- decoder language models (issue 13) ---
    "gpt2": {"config": "GPT2Config", "model": "GPT2Model", "causal_lm": "GPT2LMHeadModel",
             "sequence_classification": "GPT2ForSequenceClassification", "tokenizer": "GPT2Tokenizer"},
    "llama": {"config": "LlamaConfig", "model": "LlamaModel", "causal_lm": "LlamaForCausalLM",
              "sequence_classification": "LlamaForSequenceClassification", "tokenizer": "LlamaTokenizer"},
    "opt": {"config": "OPTConfig", "model": "OPTModel", "causal_lm": "OPTForCausalLM",
            "sequence_classification": "OPTForSequenceClassification", "tokenizer": "GPT2Tokenizer"},
    "bloom": {"config": "BloomConfig", "model": "BloomModel", "causal_lm": "BloomForCausalLM",
              "sequence_classification": "BloomForSequenceClassification", "tokenizer": "BloomTokenizer"},
    "codegen": {"config": "CodeGenConfig", "model": "CodeGenModel", "causal_lm": "CodeGenForCausalLM",
                "tokenizer": "CodeGenTokenizer"},
    "biogpt": {"config": "BioGptConfig", "model": "BioGptModel", "causal_lm": "BioGptForCausalLM",
               "sequence_classification": "BioGptForSequenceClassification", "tokenizer": "BioGptTokenizer",
               "token_classification": "BioGptForTokenClassification"},
    "ctrl": {"config": "CTRLConfig", "model": "CTRLModel", "causal_lm": "CTRLLMHeadModel", "tokenizer": "CTRLTokenizer",
             "sequence_classification": "CTRLForSequenceClassification"},
    "decision_transformer": {"config": "DecisionTransformerConfig", "model": "DecisionTransformerModel"},
    # mBART (BARThez, BARTpho checkpoints); their tokenizer_config.json names the tokenizer class
    "mbart": {"config": "MBartConfig", "model": "MBartModel", "seq2seq_lm": "MBartForConditionalGeneration"},
    # --- end decoder language models ---
}


def get_class(name: str):
    """Import and return the polymodal class called ``name`` (Transformers' spelling)."""
    module = CLASS_MODULES.get(name)
    if module is None:
        raise ConfigError(f"Unknown class '{name}'. polymodal provides: {', '.join(sorted(CLASS_MODULES))}.")
    return getattr(importlib.import_module(module), name)


def register(model_type: str, classes: dict[str, type]) -> None:
    """Register user classes: ``register("my_model", {"config": MyConfig, "model": MyModel})``."""
    roles = MODEL_TYPES.setdefault(model_type, {})
    for role, cls in classes.items():
        CLASS_MODULES[cls.__name__] = cls.__module__
        roles[role] = cls.__name__


def class_for(model_type: str | None, role: str, source: str = "config.json"):
    """The class playing ``role`` for ``model_type``, with an error that lists what exists."""
    if not model_type:
        raise ConfigError(f"{source} has no 'model_type'; cannot pick a class. Add \"model_type\" to it.")
    roles = MODEL_TYPES.get(model_type)
    if roles is None:
        raise ConfigError(
            f"Unknown model_type '{model_type}' in {source}. polymodal supports: "
            f"{', '.join(sorted(MODEL_TYPES))}."
        )
    if role not in roles:
        have = ", ".join(sorted(roles)) or "nothing"
        raise ConfigError(f"model_type '{model_type}' has no {role.replace('_', ' ')} class (it has: {have}).")
    return get_class(roles[role])


def _base_class_name(name: str) -> str:
    # Transformers writes "…Fast" / "…Pil" variants; polymodal has one class per role.
    for suffix in ("Fast", "Pil"):
        if name.endswith(suffix) and name[: -len(suffix)] in CLASS_MODULES:
            return name[: -len(suffix)]
    return name


def _read_json_if_any(path_or_id, filename: str, **kwargs) -> dict | None:
    from ..core.config import read_json
    from ..core.hub import resolve_file

    path = resolve_file(path_or_id, filename, required=False, **kwargs)
    return read_json(path) if path else None


def _model_type_of(path_or_id, **kwargs) -> str | None:
    config = _read_json_if_any(path_or_id, "config.json", **kwargs)
    return None if config is None else config.get("model_type")


class _AutoBase:
    def __init__(self, *args, **kwargs):
        raise EnvironmentError(
            f"{type(self).__name__} is not built directly; use {type(self).__name__}.from_pretrained(path)."
        )


class AutoConfig(_AutoBase):
    @classmethod
    def for_model(cls, model_type: str, **kwargs):
        return class_for(model_type, "config")(**kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        from ..core.config import PretrainedConfig

        config_dict, overrides = PretrainedConfig.get_config_dict(pretrained_model_name_or_path, **kwargs)
        config_cls = class_for(config_dict.get("model_type"), "config",
                               f"'{pretrained_model_name_or_path}/config.json'")
        config = config_cls.from_dict(config_dict, **overrides)
        config.name_or_path = str(pretrained_model_name_or_path)
        return config


class _AutoModelBase(_AutoBase):
    _role = "model"

    @classmethod
    def from_config(cls, config, **kwargs):
        return class_for(config.model_type, cls._role)(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        config = kwargs.pop("config", None)
        if config is None:
            config_kwargs = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only") if k in kwargs}
            config = AutoConfig.from_pretrained(pretrained_model_name_or_path, **config_kwargs)
        model_cls = class_for(config.model_type, cls._role, f"'{pretrained_model_name_or_path}/config.json'")
        return model_cls.from_pretrained(pretrained_model_name_or_path, *model_args, config=config, **kwargs)


class AutoModel(_AutoModelBase):
    _role = "model"


class AutoModelForAudioClassification(_AutoModelBase):
    _role = "audio_classification"


class AutoModelForCTC(_AutoModelBase):
    _role = "ctc"


class AutoModelForSpeechSeq2Seq(_AutoModelBase):  # issue 16
    _role = "speech_seq2seq"


class AutoModelForSeq2SeqLM(_AutoModelBase):  # issue 16
    _role = "seq2seq_lm"


class AutoModelForZeroShotImageClassification(_AutoModelBase):
    _role = "zero_shot_image_classification"


# --- text encoders (issue 14) ---
class AutoModelForMaskedLM(_AutoModelBase):
    _role = "masked_lm"


class AutoModelForSequenceClassification(_AutoModelBase):
    _role = "sequence_classification"


class AutoModelForTokenClassification(_AutoModelBase):
    _role = "token_classification"


class AutoModelForQuestionAnswering(_AutoModelBase):
    _role = "question_answering"


class AutoModelForMultipleChoice(_AutoModelBase):
    _role = "multiple_choice"
# --- end text encoders ---


# --- decoder language models (issue 13) ---
class AutoModelForCausalLM(_AutoModelBase):
    _role = "causal_lm"
# --- end decoder language models ---


# --- vision backbones (issue 15) ---
class AutoModelForImageClassification(_AutoModelBase):
    _role = "image_classification"


class AutoModelForMaskedImageModeling(_AutoModelBase):
    _role = "masked_image_modeling"
# --- end vision backbones ---


class _AutoFromFile(_AutoBase):
    """Picks the class from ``_key`` in ``_filename`` (e.g. ``feature_extractor_type`` in
    ``preprocessor_config.json``), else from the ``model_type`` in ``config.json``."""

    _filename = _key = _role = ""

    @classmethod
    def class_for_checkpoint(cls, path_or_id, **kwargs):
        hub_kwargs = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only") if k in kwargs}
        data = _read_json_if_any(path_or_id, cls._filename, **hub_kwargs) or {}
        if data.get(cls._key):
            return get_class(_base_class_name(data[cls._key]))
        model_type = _model_type_of(path_or_id, **hub_kwargs)
        if model_type is None and not data:
            raise CheckpointError(
                f"'{path_or_id}' has neither '{cls._filename}' nor 'config.json'; cannot tell which "
                f"{cls._role.replace('_', ' ')} to use."
            )
        return class_for(model_type, cls._role, f"'{path_or_id}/config.json'")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *inputs, **kwargs):
        klass = cls.class_for_checkpoint(pretrained_model_name_or_path, **kwargs)
        return klass.from_pretrained(pretrained_model_name_or_path, *inputs, **kwargs)


class AutoFeatureExtractor(_AutoFromFile):
    _filename, _key, _role = "preprocessor_config.json", "feature_extractor_type", "feature_extractor"


class AutoImageProcessor(_AutoFromFile):
    _filename, _key, _role = "preprocessor_config.json", "image_processor_type", "image_processor"


class AutoTokenizer(_AutoFromFile):
    _filename, _key, _role = "tokenizer_config.json", "tokenizer_class", "tokenizer"

    @classmethod
    def class_for_checkpoint(cls, path_or_id, **kwargs):
        # As Transformers: without a tokenizer_class in tokenizer_config.json, config.json's
        # tokenizer_class comes before its model_type (BERTweet's and CPM's checkpoints name their
        # tokenizer there, while model_type says roberta / gpt2).
        hub_kwargs = {k: kwargs[k] for k in ("cache_dir", "revision", "token", "local_files_only") if k in kwargs}
        if not (_read_json_if_any(path_or_id, cls._filename, **hub_kwargs) or {}).get(cls._key):
            name = (_read_json_if_any(path_or_id, "config.json", **hub_kwargs) or {}).get("tokenizer_class")
            if name:
                return get_class(_base_class_name(name))
        return super().class_for_checkpoint(path_or_id, **kwargs)


class AutoProcessor(_AutoBase):
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        path = pretrained_model_name_or_path
        for filename in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
            name = (_read_json_if_any(path, filename) or {}).get("processor_class")
            if name:
                return get_class(_base_class_name(name)).from_pretrained(path, **kwargs)
        model_type = _model_type_of(path)
        roles = MODEL_TYPES.get(model_type or "", {})
        for role in ("processor", "feature_extractor", "image_processor", "tokenizer"):
            if role in roles:
                return get_class(roles[role]).from_pretrained(path, **kwargs)
        return AutoFeatureExtractor.from_pretrained(path, **kwargs)
