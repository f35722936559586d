"""``transformers.integrations``' import path for the reporting integrations polymodal has
(TensorBoard; any other ``report_to`` name is a clear error). The code is in
:mod:`polymodal.train.integrations`."""

from .train.integrations import (
    TensorBoardCallback,
    get_reporting_integration_callbacks,
    is_tensorboard_available,
    rewrite_logs,
)

__all__ = ["TensorBoardCallback", "get_reporting_integration_callbacks", "is_tensorboard_available", "rewrite_logs"]
