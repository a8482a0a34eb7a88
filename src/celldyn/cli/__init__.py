"""The ``celldyn`` command line (one module per subcommand group; see main.py)."""

from .main import main

__all__ = ["main"]
