"""``python -m flows`` runs the berthwatch command line."""

from flows.cli import main

main()
