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


def test_overload_is_refused_not_queued_in_the_proxy(tmp_path):
    """Ray's proxy queues at most max_queue requests (then 503 + Retry-After); a replica takes more
    than its batch queue, so overload reaches the app's fast 503 instead of waiting unseen."""
    pytest.importorskip("ray.serve")
    from polymodal.serve.ray import deployment, deployment_options
    from polymodal.serve.service import ServeConfig

    config = ServeConfig(max_queue=10, max_batch_size=4, retry_after_s=2)
    options = deployment_options(config)
    assert options["max_queued_requests"] == 10
    assert options["max_ongoing_requests"] > config.max_queue + config.max_batch_size
    deployed = deployment(tmp_path, config=config)._bound_deployment._deployment_config
    assert deployed.max_queued_requests == 10
    if "backpressure_config" in options:
        assert (options["backpressure_config"].status_code, options["backpressure_config"].retry_after_s) == (503, 2)
