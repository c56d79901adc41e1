"""The ``portbook`` console script: the same tasks as ``invoke``, run from any folder."""

from __future__ import annotations

from invoke import Program

__all__ = ["main", "program"]


def program() -> Program:
    """An invoke Program over portbook's namespace (playbooks)."""
    from importlib.metadata import PackageNotFoundError, version

    from playbooks import namespace

    try:
        current = version("portbook")
    except PackageNotFoundError:
        current = "dev"
    return Program(namespace=namespace(), name="portbook", binary="portbook", version=current)


def main() -> None:
    """Entry point: ``portbook service.add --name X`` in the system's root."""
    program().run()
