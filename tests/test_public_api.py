"""The public API: lazy names resolve, ``__all__`` lists them, and the ``.pyi`` stub agrees."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import polymodal

STUB = Path(polymodal.__file__).with_name("__init__.pyi")


def _stub_names() -> set[str]:
    names = set()
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def test_stub_matches_the_lazy_tables():
    expected = set(polymodal.__all__)
    stub = _stub_names()
    missing, extra = sorted(expected - stub), sorted(stub - expected)
    assert not missing and not extra, (
        f"src/polymodal/__init__.pyi is stale (missing {missing[:10]}, extra {extra[:10]}): "
        "run `python scripts/gen_public_api.py`"
    )


def test_stub_modules_define_their_names():
    """Each ``from .x import Name`` in the stub names a module that really defines Name."""
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(f"polymodal.{node.module}")
            for alias in node.names:
                assert hasattr(module, alias.name), f"polymodal.{node.module} has no {alias.name}"


def test_every_public_name_resolves():
    for name in polymodal.__all__:
        assert getattr(polymodal, name) is not None, name
    assert polymodal.__version__ and "Trainer" in dir(polymodal)
