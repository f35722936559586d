"""The only shared layers: attention, masks, activations, gradient checkpointing."""
