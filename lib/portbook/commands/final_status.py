"""What restart and recover report last: the status they verified, or the status now."""

from __future__ import annotations

from ..engine.operation import OpResult
from ..errors import PortbookError
from ..host.status import StatusReport, read_status
from ..target import Target

__all__ = ["final_status"]


def final_status(result: OpResult, target: Target) -> StatusReport | None:
    """The verified status; after a failure that changed something, the status now.

    None when nothing ran, or when the status cannot be read after a failure.
    """
    op = result.op
    if op is None:
        return None
    if op.report is not None or not op.actions:
        return op.report
    try:
        return read_status(target, op.system)
    except PortbookError:
        return None
