"""ResNet (He et al., 2016): basic or bottleneck residual stages; checkpoints use ConvNextImageProcessor."""
