"""``python -m portbook service.add ...``: the console script without installing it."""

from .cli import main

main()
