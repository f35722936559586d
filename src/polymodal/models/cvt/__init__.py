"""CvT (Wu et al., 2021): convolutional token embeddings and convolutional q/k/v projections."""
