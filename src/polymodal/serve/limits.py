"""Resource limits checked before any work: a request is refused from its header, not after decoding.

A 40 KB WAV that declares a 1 Hz rate, or a small FLAC of two hours of silence, would decode and
resample to gigabytes. ``check_audio_header`` reads rate, channels and frame count from the file
header (``polymodal.audio.io.audio_info``: no samples decoded) and refuses what would decode past
``max_seconds`` / ``max_samples`` (413) or what declares a rate below ``min_sampling_rate`` (422).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import InvalidInputError


class LimitError(InvalidInputError):
    """Input refused by a resource limit; ``status`` is 413 (too large) or 422 (unprocessable)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = 10 * 2**20
    max_seconds: float = 600.0  # longest audio accepted, in seconds
    max_samples: int = 16000 * 600  # most samples after resampling to the model's rate (and before)
    min_sampling_rate: int = 4000  # a lower declared rate is refused (422): it upsamples into a huge array
    max_image_pixels: int = 40_000_000
    max_concurrent_decodes: int = 2

    def __post_init__(self):
        for name in ("max_request_bytes", "max_samples", "min_sampling_rate", "max_image_pixels",
                     "max_concurrent_decodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"Limits.{name}={value!r}; expected a positive integer.")
        if not self.max_seconds > 0:
            raise InvalidInputError(f"Limits.max_seconds={self.max_seconds!r}; expected a positive number.")

    def too_long(self, seconds: float, samples: int) -> LimitError:
        return LimitError(413, f"The audio is {seconds:.1f} s ({samples} samples at the model's rate); the limit is "
                          f"{self.max_seconds:g} s and {self.max_samples} samples (start the server with a larger "
                          "--max-audio-seconds).")


def check_audio_header(data: bytes, model_rate: int, limits: Limits) -> None:
    """Refuse audio whose header promises too much work; a header that cannot be read is a 400."""
    from ..audio.io import audio_info

    info = audio_info(data)  # AudioDecodeError (400) when the header is unreadable
    if info.sampling_rate < limits.min_sampling_rate:
        raise LimitError(422, f"The audio declares a sampling rate of {info.sampling_rate} Hz; the server accepts "
                         f"{limits.min_sampling_rate} Hz or more (resample it, e.g. to {model_rate} Hz).")
    decoded = info.frames * info.channels
    resampled = int(info.frames * model_rate / info.sampling_rate)
    if info.duration > limits.max_seconds or max(decoded, resampled) > limits.max_samples:
        raise limits.too_long(info.duration, resampled)
