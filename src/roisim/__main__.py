"""``python -m roisim``: the same as the ``roisim`` command."""

from roisim._startup import quiet_interrupt

with quiet_interrupt():  # Ctrl-C while roisim loads, before main() handles it
    from roisim.cli import main

main()
