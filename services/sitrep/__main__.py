"""``python -m sitrep`` is the ``sitrep`` command (handy where the script is not on PATH)."""

from sitrep.cli import main

main()
