"""Video inputs: sampling frames from a file, and normalising the shapes videos arrive in.

``sample_frames(path, num_frames)`` decodes a video file with PyAV (``pip install av``) and
keeps ``num_frames`` evenly spaced frames, the input X-CLIP expects::

    frames = sample_frames("clip.mp4", 8)          # (8, H, W, 3) uint8
    inputs = processor(videos=frames, text=["cooking", "dancing"], return_tensors="pt", padding=True)

``make_batched_videos`` turns a single video (a list of frames or a 4-D array) or a batch of
them (a list of those, or a 5-D array) into a list of videos, each a list of frames.
"""

from __future__ import annotations

import os

import numpy as np
import PIL.Image
import torch

from ..core.errors import InvalidInputError


def sample_frames(path: str | os.PathLike, num_frames: int) -> np.ndarray:
    """``num_frames`` evenly spaced RGB frames of the video at ``path``: a ``(num_frames, H, W, 3)`` uint8 array.

    The first and last frames are always included. A video with fewer than ``num_frames``
    frames is an error (repeating frames would silently change what the model sees).
    """
    av = _import_av()
    if not isinstance(num_frames, int) or num_frames < 1:
        raise InvalidInputError(f"num_frames must be a positive int; got {num_frames!r}.")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InvalidInputError(f"Video file not found: '{path}'. Check the path.")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise InvalidInputError(f"'{path}' has no video stream.")
            total = _frame_count(container)
            if total < num_frames:
                raise InvalidInputError(
                    f"'{path}' has {total} frame(s) but {num_frames} were asked for; use a longer clip or "
                    f"num_frames <= {total}."
                )
            wanted = np.linspace(0, total - 1, num_frames).round().astype(np.int64)
            return _decode(container, wanted, path)
    except av.FFmpegError as exc:
        raise InvalidInputError(f"Cannot decode video '{path}': {exc}. Is it a video file?") from None


def _import_av():
    try:
        import av
    except ImportError:
        raise ImportError(
            "Reading video files needs PyAV. Install it with `pip install av` (or `pip install polymodal[video]`)."
        ) from None
    return av


def _frame_count(container) -> int:
    """Frames in the first video stream: the header's count, else counted from the packets."""
    stream = container.streams.video[0]
    if stream.frames:
        return int(stream.frames)
    count = sum(1 for packet in container.demux(stream) if packet.size)
    container.seek(0)
    return count


def _decode(container, wanted: np.ndarray, path: str) -> np.ndarray:
    """Decode up to the last wanted index, keeping the wanted frames (an index may repeat)."""
    frames: dict[int, np.ndarray] = {}
    targets = set(wanted.tolist())
    last = int(wanted[-1])
    for index, frame in enumerate(container.decode(video=0)):
        if index in targets:
            frames[index] = frame.to_ndarray(format="rgb24")
        if index >= last:
            break
    missing = sorted(targets - set(frames))
    if missing:
        raise InvalidInputError(
            f"'{path}' ended after {len(frames)} decodable frame(s); frames {missing[:5]} could not be read."
        )
    return np.stack([frames[i] for i in wanted.tolist()])  # (T, H, W, 3)


# --------------------------------------------------------------------------- shapes
def _is_frame(item) -> bool:
    if isinstance(item, PIL.Image.Image):
        return True
    return isinstance(item, (np.ndarray, torch.Tensor)) and item.ndim in (2, 3)


def _frames_of(video, index: int | None) -> list:
    """One video → its list of frames."""
    where = "the video" if index is None else f"video {index}"
    if isinstance(video, (np.ndarray, torch.Tensor)):
        if video.ndim != 4:
            raise InvalidInputError(
                f"{where} has shape {tuple(video.shape)}; a video is (frames, H, W, C) or (frames, C, H, W)."
            )
        return list(video)
    if isinstance(video, (list, tuple)) and video and all(_is_frame(frame) for frame in video):
        return list(video)
    raise InvalidInputError(
        f"{where} is not a video: pass a list of frames (PIL images or (H, W, C) arrays) or a 4-D array "
        "(frames, H, W, C)."
    )


def make_batched_videos(videos) -> list[list]:
    """A video or a batch of videos → a list of videos, each a list of frames (all the same count).

    A single video is a list of frames or a 4-D array; a batch is a list of those or a 5-D
    array ``(batch, frames, H, W, C)``.
    """
    if isinstance(videos, (np.ndarray, torch.Tensor)) and videos.ndim == 5:
        batch = [_frames_of(video, i) for i, video in enumerate(videos)]
    elif isinstance(videos, (np.ndarray, torch.Tensor)) or (
            isinstance(videos, (list, tuple)) and videos and _is_frame(videos[0])):
        batch = [_frames_of(videos, None)]
    elif isinstance(videos, (list, tuple)) and videos:
        batch = [_frames_of(video, i) for i, video in enumerate(videos)]
    else:
        raise InvalidInputError(
            f"videos must be a video (a list of frames or a (frames, H, W, C) array) or a list of videos; "
            f"got {type(videos).__name__}{' (empty)' if isinstance(videos, (list, tuple)) else ''}."
        )
    counts = [len(video) for video in batch]
    if len(set(counts)) > 1:
        raise InvalidInputError(
            f"The videos have different numbers of frames {counts}; sample the same number from each "
            "(e.g. polymodal.vision.video.sample_frames(path, 8))."
        )
    return batch
