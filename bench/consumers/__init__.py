"""Consumer benchmark (`python -m bench.consumers`): declarations decided per second by customs and phyto."""

from bench.consumers.report import markdown

__all__ = ["markdown"]
