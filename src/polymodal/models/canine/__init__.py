"""CANINE (Clark et al., 2021): a tokenizer-free encoder over Unicode code points, with hashed
character embeddings, local attention, downsampling to "molecules" and upsampling back.

Modules: ``configuration``, ``modeling`` (encoder and task heads), ``tokenization`` (code points).
"""
