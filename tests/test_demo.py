"""The demo (``make demo``) runs end to end: data → features → Trainer → pipeline → plots."""

from __future__ import annotations

import pytest

from polymodal import demo


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys):
    accuracy = demo.main(["--output-dir", str(tmp_path), "--epochs", "1"])
    out = capsys.readouterr().out
    assert 0.0 <= accuracy <= 1.0
    assert "held-out accuracy" in out and "pipeline" in out
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert (tmp_path / "model" / "preprocessor_config.json").is_file()
    assert (tmp_path / "training_curve.png").is_file() and (tmp_path / "confusion_matrix.png").is_file()
    # The pipeline printed five scored labels.
    assert sum(1 for line in out.splitlines() if line.strip()[:1].isdigit() and "." in line[:16]) == 5
