"""Blenderbot-Small (issue 16): BART's post-norm blocks with Blenderbot-Small's embedding quirks."""
