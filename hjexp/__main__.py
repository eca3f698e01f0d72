"""`python -m hjexp`: the command line (hjexp/cli.py)."""

from hjexp.cli import main

main()
