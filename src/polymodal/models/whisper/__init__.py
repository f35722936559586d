"""Whisper (front end only): the log-mel feature extractor."""
