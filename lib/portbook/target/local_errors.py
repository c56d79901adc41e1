"""OS and psutil errors on the local host, turned into TargetError naming the action."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psutil

from ..errors import TargetError

__all__ = ["translated"]


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn OS and psutil errors into TargetError naming the action."""
    try:
        yield
    except OSError as exc:
        raise TargetError(f"{action}: {exc.strerror or exc}") from exc
    except psutil.Error as exc:
        raise TargetError(f"{action}: {exc}") from exc
