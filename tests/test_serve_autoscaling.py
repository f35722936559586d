"""`polymodal serve --ray --replicas N --max-replicas M`: Ray Serve autoscaling settings (no cluster needed)."""

from __future__ import annotations

import pytest

from polymodal.core.errors import ConfigError
from polymodal.serve.ray import autoscaling_config


def test_fixed_count_without_max_replicas():
    assert autoscaling_config(2, None) is None
    with pytest.raises(ConfigError, match="max_replicas"):
        autoscaling_config(2, None, target_ongoing_requests=4)


def test_autoscaling_bounds_and_target():
    assert autoscaling_config(1, 4) == {"min_replicas": 1, "max_replicas": 4, "initial_replicas": 1}
    assert autoscaling_config(2, 2, 8)["target_ongoing_requests"] == 8
    with pytest.raises(ConfigError, match="below replicas"):
        autoscaling_config(3, 2)
    with pytest.raises(ConfigError, match="> 0"):
        autoscaling_config(1, 2, 0)


def test_cli_passes_autoscaling_to_ray(monkeypatch, tmp_path):
    import polymodal.serve.ray as ray_serving
    from polymodal import cli

    seen = {}
    monkeypatch.setattr(ray_serving, "serve_on_ray", lambda model_dir, **kw: seen.update(kw, model_dir=model_dir))
    monkeypatch.setattr(cli, "_check_model_dir", lambda path: None)
    assert cli.main(["serve", str(tmp_path), "--ray", "--replicas", "2", "--max-replicas", "5",
                     "--target-ongoing-requests", "16"]) == 0
    assert (seen["replicas"], seen["max_replicas"], seen["target_ongoing_requests"]) == (2, 5, 16.0)


def test_deployment_takes_the_autoscaling_config(tmp_path):
    pytest.importorskip("ray.serve")
    from polymodal.serve.ray import deployment

    app = deployment(tmp_path, autoscaling_config=autoscaling_config(1, 3))
    options = app._bound_deployment._deployment_config.autoscaling_config
    assert (options.min_replicas, options.max_replicas) == (1, 3)
