"""`python -m agentos` runs the CLI."""

from agentos.cli import main

main()
