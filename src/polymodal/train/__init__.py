"""Training: arguments, the Trainer loop, collators, metrics, checkpoints, data-parallel."""
