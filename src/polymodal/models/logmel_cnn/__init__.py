"""A small 1-D CNN over log-mel features: polymodal's own compact audio classifier."""
