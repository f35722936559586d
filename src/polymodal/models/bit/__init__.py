"""BiT (Kolesnikov et al., 2020): ResNet-v2 with weight-standardised convolutions and group norm."""
