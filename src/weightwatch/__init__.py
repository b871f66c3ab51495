"""weightwatch: tells you once, and quickly, when something you care about appears on the web."""

__version__ = "0.1.0"
