"""Import paths of ``transformers.utils`` that the documentation uses, e.g.
``from polymodal.utils import logging``. Nothing lives here: it points at the real modules."""

from .. import logging

__all__ = ["logging"]
