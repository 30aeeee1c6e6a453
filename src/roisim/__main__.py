"""``python -m roisim``: the same as the ``roisim`` command."""

from roisim.cli import main

main()
