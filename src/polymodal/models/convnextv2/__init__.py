"""ConvNeXt-V2 (Woo et al., 2023): ConvNeXt with Global Response Normalization instead of layer scale."""
