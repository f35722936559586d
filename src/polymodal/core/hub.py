"""Turn a local folder or a hub id into file paths.

A local directory always works offline. Anything else is treated as a hub id and fetched
with ``huggingface_hub`` when it is installed and the network allows; otherwise the error
names the id and says how to use a local folder instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CheckpointError, HubUnavailableError

_OFFLINE_HELP = (
    "To use it offline, download it once on a machine with network access, e.g.\n"
    "    huggingface-cli download {id} --local-dir ./{name}\n"
    "then pass the folder: from_pretrained('./{name}')."
)


def _hub_error(repo_id: str, reason: str) -> HubUnavailableError:
    help_text = _OFFLINE_HELP.format(id=repo_id, name=repo_id.split("/")[-1])
    return HubUnavailableError(
        f"'{repo_id}' is not a local folder, so it was taken as a hub id, but {reason}.\n{help_text}"
    )


def is_local(path_or_id: str | os.PathLike) -> bool:
    return Path(path_or_id).expanduser().is_dir()


def resolve_file(
    path_or_id: str | os.PathLike,
    filename: str,
    *,
    required: bool = True,
    local_files_only: bool = False,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    token: str | bool | None = None,
    **_ignored,
) -> str | None:
    """Return the path of ``filename`` inside a local folder or hub repository.

    Returns ``None`` when the file does not exist and ``required`` is False.
    """
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        candidate = path / filename
        if candidate.is_file():
            return str(candidate)
        if not required:
            return None
        present = sorted(p.name for p in path.iterdir())[:20]
        raise CheckpointError(
            f"'{path}' has no '{filename}'. Files there: {present or 'none'}. "
            "Point to a folder written by save_pretrained() (or a Transformers checkpoint folder)."
        )
    if path.is_file():
        raise CheckpointError(
            f"'{path}' is a file; from_pretrained() expects the folder that holds '{filename}'."
        )
    name = str(path_or_id)
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or not name.strip():
        raise CheckpointError(f"No such folder: '{name}'. Check the path (it should hold '{filename}').")
    return _hub_download(name, filename, required=required, local_files_only=local_files_only,
                         revision=revision, cache_dir=cache_dir, token=token)


def _hub_download(repo_id, filename, *, required, local_files_only, revision, cache_dir, token):
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or local_files_only
    try:
        import huggingface_hub
    except ImportError:
        raise _hub_error(repo_id, "huggingface_hub is not installed") from None
    if not offline and not _hub_reachable():
        cached = _cached(huggingface_hub, repo_id, filename, revision, cache_dir)
        if cached:
            return cached
        raise _hub_error(repo_id, "the hub's host cannot be resolved (no network)")
    try:
        return huggingface_hub.hf_hub_download(
            repo_id, filename, revision=revision, cache_dir=cache_dir, token=token,
            local_files_only=offline,
        )
    except huggingface_hub.errors.LocalEntryNotFoundError:
        # Offline, or the hub unreachable, and the file is not in the local cache: whether it
        # exists is unknown, so even an optional file is an error here.
        reason = "offline mode is on (HF_HUB_OFFLINE) and it is not cached" if offline else "the hub could not be reached"
        raise _hub_error(repo_id, reason) from None
    except huggingface_hub.errors.EntryNotFoundError:
        if not required:
            return None
        raise CheckpointError(f"Hub repository '{repo_id}' has no file '{filename}'.") from None
    except Exception as exc:  # offline, DNS failure, 404 on the repo, ...
        if not required and not isinstance(exc, (OSError, ConnectionError)):
            return None
        reason = "the hub could not be reached" if not offline else "offline mode is on (HF_HUB_OFFLINE)"
        raise _hub_error(repo_id, f"{reason} ({type(exc).__name__})") from None


def _hub_reachable() -> bool:
    """A DNS lookup of the hub's host: fails at once offline, where a download would retry for ~30 s."""
    import socket
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def _cached(huggingface_hub, repo_id, filename, revision, cache_dir):
    try:
        return huggingface_hub.hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir,
                                               local_files_only=True)
    except Exception:  # noqa: BLE001 - not cached (or not a valid id): the caller reports it
        return None


# --------------------------------------------------------------------------- uploads (push_to_hub)
# One helper for every push_to_hub (Trainer, models, configs, processors): upload a saved folder
# with huggingface_hub when it is installed and the hub is reachable; one clear error otherwise.
def push_folder_to_hub(folder: str | os.PathLike, repo_id: str, *, commit_message: str = "Upload with polymodal",
                       token: str | bool | None = None, private: bool | None = None, revision: str | None = None,
                       ignore_patterns: list[str] | None = None, what: str = "push_to_hub") -> str:
    """Create ``repo_id`` if needed and upload ``folder`` to it; return the commit URL."""
    folder = Path(folder)
    reason = _push_blocker()
    if reason is not None:
        raise push_error(what, repo_id, reason, folder)
    from huggingface_hub import HfApi

    api = HfApi(token=token if isinstance(token, str) else None)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message=commit_message,
                             revision=revision, ignore_patterns=ignore_patterns)
    return str(getattr(info, "commit_url", info))


def _push_blocker() -> str | None:
    """Why an upload cannot happen now (None when it can)."""
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        return "huggingface_hub is not installed (pip install 'polymodal[hub]')"
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return "offline mode is on (HF_HUB_OFFLINE=1)"
    if not _hub_reachable():
        return "the hub's host cannot be resolved (offline)"
    return None


def can_push_to_hub() -> str | None:
    """None when ``push_folder_to_hub`` can run now, else the reason it cannot (for early warnings)."""
    return _push_blocker()


def push_error(what: str, repo_id: str, reason: str, folder: str | os.PathLike | None = None) -> HubUnavailableError:
    """The one error every push_to_hub raises when it cannot upload."""
    if folder is not None:
        where = f"The files are saved in '{folder}'; upload them later with: huggingface-cli upload {repo_id} {folder}"
    else:
        name = repo_id.split("/")[-1]
        where = (f"Save them with .save_pretrained('./{name}') and upload the folder later with: "
                 f"huggingface-cli upload {repo_id} ./{name}")
    return HubUnavailableError(f"{what}: cannot upload to the Hugging Face Hub: {reason}. {where}")


class PushToHubMixin:
    """``push_to_hub(repo_id)`` and ``save_pretrained(folder, push_to_hub=True)`` for anything with a
    ``save_pretrained`` (models, configs, feature extractors, image processors, tokenizers, processors)."""

    def push_to_hub(self, repo_id: str, commit_message: str | None = None, private: bool | None = None,
                    token: str | bool | None = None, revision: str | None = None, create_pr: bool = False,
                    **save_kwargs) -> str:
        """Save into a temporary folder and upload it to ``repo_id`` (created if needed); returns the
        commit URL. Offline or without ``huggingface_hub``: a HubUnavailableError, before anything is written."""
        import tempfile

        what = f"{type(self).__name__}.push_to_hub()"
        if not isinstance(repo_id, str) or not repo_id.strip():
            from .errors import ConfigError

            raise ConfigError(f"{what} needs repo_id='user/name', got {repo_id!r}.")
        if create_pr:
            from .errors import ConfigError

            raise ConfigError(f"{what}: create_pr=True is not supported; push to a branch with revision=… instead.")
        reason = _push_blocker()
        if reason is not None:
            raise push_error(what, repo_id, reason)
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, **save_kwargs)
            return push_folder_to_hub(folder, repo_id, commit_message=commit_message or f"Upload {type(self).__name__}",
                                      token=token, private=private, revision=revision, what=what)

    def _save_and_push(self, save_directory, repo_id: str | None = None, commit_message: str | None = None,
                       private: bool | None = None, token: str | bool | None = None, revision: str | None = None,
                       **save_kwargs):
        """``save_pretrained(save_directory, push_to_hub=True, …)``: save, then upload the folder to
        ``repo_id`` (default: the folder's name), as Transformers does."""
        result = self.save_pretrained(save_directory, **save_kwargs)
        repo_id = repo_id or Path(save_directory).resolve().name
        push_folder_to_hub(save_directory, repo_id, commit_message=commit_message or f"Upload {type(self).__name__}",
                           token=token, private=private, revision=revision,
                           what=f"{type(self).__name__}.save_pretrained(push_to_hub=True)")
        return result
