"""polymodal's logging: one library logger (``"polymodal"``) with a verbosity you set in one call.

``polymodal.logging.set_verbosity_info()`` shows what the library reports; the default is WARNING,
or the ``POLYMODAL_VERBOSITY`` environment variable (``debug``, ``info``, ``warning``, ``error``,
``critical``; Transformers' ``TRANSFORMERS_VERBOSITY`` is read when ours is unset).
``POLYMODAL_NO_ADVISORY_WARNINGS=1`` silences ``logger.warning_advice``.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from logging import CRITICAL, DEBUG, ERROR, FATAL, INFO, NOTSET, WARN, WARNING  # noqa: F401  (public levels)

_LIBRARY = "polymodal"
_lock = threading.Lock()
_default_handler: logging.Handler | None = None
_progress_bar_enabled = os.getenv("POLYMODAL_DISABLE_PROGRESS_BAR", "").lower() not in ("1", "true", "yes", "on")

log_levels = {"detail": DEBUG, "debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR,
              "critical": CRITICAL}


def _env(name: str) -> str | None:
    return os.getenv(f"POLYMODAL_{name}") or os.getenv(f"TRANSFORMERS_{name}")


def _default_level() -> int:
    text = _env("VERBOSITY")
    if not text:
        return WARNING
    if text.lower() not in log_levels:
        _root().warning("Unknown POLYMODAL_VERBOSITY=%s; use one of %s.", text, ", ".join(log_levels))
        return WARNING
    return log_levels[text.lower()]


def _root() -> logging.Logger:
    return logging.getLogger(_LIBRARY)


def _configure() -> None:
    """Give the library logger its stderr handler and default level, once."""
    global _default_handler
    with _lock:
        if _default_handler is not None:
            return
        _default_handler = logging.StreamHandler(sys.stderr)
        detail = (_env("VERBOSITY") or "").lower() == "detail"
        fmt = "%(levelname)s [%(name)s:%(lineno)s] %(asctime)s %(message)s" if detail else f"[{_LIBRARY}] %(message)s"
        _default_handler.setFormatter(logging.Formatter(fmt))
        root = _root()
        root.addHandler(_default_handler)
        root.setLevel(_default_level())
        # Our handler prints the message; propagating too would print it twice under logging.basicConfig.
        root.propagate = False


def _reset() -> None:
    """Undo :func:`_configure` (tests use it to leave the logging setup as they found it)."""
    global _default_handler
    with _lock:
        if _default_handler is None:
            return
        root = _root()
        root.removeHandler(_default_handler)
        root.setLevel(NOTSET)
        root.propagate = True
        _default_handler = None


def get_log_levels_dict() -> dict[str, int]:
    return dict(log_levels)


def get_logger(name: str | None = None) -> logging.Logger:
    """The library logger, or ``name``'s logger (use ``__name__`` inside polymodal)."""
    _configure()
    return logging.getLogger(name or _LIBRARY)


def get_verbosity() -> int:
    """The library logger's level as an int (``polymodal.logging.WARNING`` == 30…)."""
    _configure()
    return _root().getEffectiveLevel()


def set_verbosity(verbosity: int) -> None:
    """Set the library's level: ``CRITICAL``/``FATAL``, ``ERROR``, ``WARNING``/``WARN``, ``INFO`` or ``DEBUG``."""
    if isinstance(verbosity, str):
        if verbosity.lower() not in log_levels:
            raise ValueError(f"set_verbosity({verbosity!r}): use one of {sorted(log_levels)} or a logging level int.")
        verbosity = log_levels[verbosity.lower()]
    _configure()
    _root().setLevel(verbosity)


def set_verbosity_info() -> None:
    set_verbosity(INFO)


def set_verbosity_warning() -> None:
    set_verbosity(WARNING)


def set_verbosity_debug() -> None:
    set_verbosity(DEBUG)


def set_verbosity_error() -> None:
    set_verbosity(ERROR)


def disable_default_handler() -> None:
    """Stop printing through polymodal's own stderr handler (add yours with :func:`add_handler`)."""
    _configure()
    _root().removeHandler(_default_handler)


def enable_default_handler() -> None:
    _configure()
    _root().addHandler(_default_handler)


def add_handler(handler: logging.Handler) -> None:
    _configure()
    _root().addHandler(handler)


def remove_handler(handler: logging.Handler) -> None:
    _configure()
    _root().removeHandler(handler)


def disable_propagation() -> None:
    _configure()
    _root().propagate = False


def enable_propagation() -> None:
    """Let records reach the root logger too (then disable the default handler to avoid duplicates)."""
    _configure()
    _root().propagate = True


def enable_explicit_format() -> None:
    """``[LEVEL|file:line] time >> message`` on every handler of the library logger."""
    for handler in _root().handlers:
        handler.setFormatter(logging.Formatter("[%(levelname)s|%(filename)s:%(lineno)s] %(asctime)s >> %(message)s"))


def reset_format() -> None:
    for handler in _root().handlers:
        handler.setFormatter(None)


def captureWarnings(capture: bool) -> None:  # noqa: N802  (Transformers' name)
    """Route ``warnings.warn`` messages through logging (the ``py.warnings`` logger) at the library's level."""
    _configure()
    logger = logging.getLogger("py.warnings")
    if not logger.handlers:
        logger.addHandler(_default_handler)
    logger.setLevel(_root().level)
    logging.captureWarnings(capture)


capture = captureWarnings


def warning_advice(self, *args, **kwargs) -> None:
    """``logger.warning`` unless ``POLYMODAL_NO_ADVISORY_WARNINGS`` is set."""
    if _env("NO_ADVISORY_WARNINGS"):
        return
    self.warning(*args, **kwargs)


@functools.lru_cache(None)
def warning_once(self, *args, **kwargs) -> None:
    """``logger.warning`` once per distinct message."""
    self.warning(*args, **kwargs)


@functools.lru_cache(None)
def info_once(self, *args, **kwargs) -> None:
    self.info(*args, **kwargs)


logging.Logger.warning_advice = warning_advice
logging.Logger.warning_once = warning_once
logging.Logger.info_once = info_once


def is_progress_bar_enabled() -> bool:
    return _progress_bar_enabled


def enable_progress_bar() -> None:
    global _progress_bar_enabled
    _progress_bar_enabled = True


def disable_progress_bar() -> None:
    """Hide polymodal's tqdm bars (the Trainer's progress bar included)."""
    global _progress_bar_enabled
    _progress_bar_enabled = False
