"""ConvNeXt (Liu et al., 2022): a ResNet modernised with transformer design choices."""
