"""``python -m playbooks TASK ...``: the ``portbook`` console script without installing it."""

from .cli import main

main()
