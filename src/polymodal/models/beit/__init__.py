"""BEiT (Bao et al., 2022): ViT with relative position bias, layer scale and mean pooling,
pre-trained by predicting visual tokens of masked patches. Data2Vec-Vision shares the network."""
