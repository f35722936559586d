"""BERT-Japanese's tokenizer: MeCab (``fugashi`` + a UniDic/IPA dictionary) or basic word splitting,
then WordPiece or single characters. The models are plain BERT checkpoints."""
