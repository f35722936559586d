"""Every public name in the registry and the lazy top-level table resolves to a real object."""

import importlib

import pytest

import polymodal
from polymodal.models.auto import CLASS_MODULES, MODEL_TYPES


@pytest.mark.parametrize("name", sorted(set(CLASS_MODULES) | set(polymodal._OTHER_NAMES)))
def test_public_name_resolves(name):
    assert getattr(polymodal, name) is not None


@pytest.mark.parametrize("model_type", sorted(MODEL_TYPES))
def test_model_type_roles_resolve(model_type):
    for role, name in MODEL_TYPES[model_type].items():
        assert name in CLASS_MODULES, f"{model_type}.{role} -> {name} is not a registered class"


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, polymodal; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_unknown_name_is_attribute_error():
    with pytest.raises(AttributeError):
        polymodal.NotAThing  # noqa: B018
    assert importlib.import_module("polymodal.audio_utils").mel_filter_bank
