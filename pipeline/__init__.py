"""Clean Chinese content-farm page dumps into clean, tagged Q&A records."""

__version__ = "0.1.0"
