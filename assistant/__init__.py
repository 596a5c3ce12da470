"""Mark-1: a local-first assistant that turns any Git repository into a plugin."""

__version__ = "0.1.0"
