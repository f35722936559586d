"""BertGeneration (issue 16): BERT layers as a seq2seq encoder and a causal decoder with cross-attention."""
