"""The few exception types polymodal raises.

Each subclasses a builtin (``ValueError`` or ``OSError``) so code written against
Transformers' behaviour (``except ValueError`` / ``except OSError``) keeps working.
Messages say what was received, what was expected and how to fix it.
"""


class PolymodalError(Exception):
    """Base class of every polymodal error."""


class InvalidInputError(PolymodalError, ValueError):
    """User input (audio, image, text, arguments) that cannot be processed."""


class ConfigError(PolymodalError, ValueError):
    """A config file or value that is missing, malformed or inconsistent."""


class CheckpointError(PolymodalError, OSError):
    """A checkpoint folder or weight file that is missing, corrupt or unsafe to load."""


class HubUnavailableError(CheckpointError):
    """A hub id was given but the hub cannot be reached (offline, or no huggingface_hub)."""


class AudioDecodeError(InvalidInputError):
    """An audio file or byte string that cannot be decoded."""
