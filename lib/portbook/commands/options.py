"""Task options that are more than a flag's type: checked here, once, for every caller."""

from __future__ import annotations

from ..errors import InvalidInput

__all__ = ["parse_port", "rollout_numbers"]


def parse_port(value: str | None) -> int | None:
    """``--port``: an integer, or None for ``auto`` and for no value (the lowest free one)."""
    if value is None or value == "auto":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"--port must be an integer or auto, not {value!r}") from None


def rollout_numbers(serial: object, max_fail: object) -> tuple[int, int]:
    """``--serial`` (at least 1) and ``--max-fail`` (0 or more) as integers, else InvalidInput."""
    try:
        serial_n, max_fail_n = int(serial), int(max_fail)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidInput(
            f"--serial and --max-fail must be integers: {serial!r}, {max_fail!r}"
        ) from None
    if serial_n < 1:
        raise InvalidInput(f"--serial must be at least 1, not {serial_n}")
    if max_fail_n < 0:
        raise InvalidInput(f"--max-fail must be 0 or more, not {max_fail_n}")
    return serial_n, max_fail_n
