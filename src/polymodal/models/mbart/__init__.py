"""mBART (Liu et al., 2020): multilingual denoising BART; also the architecture of BARThez and BARTpho."""
