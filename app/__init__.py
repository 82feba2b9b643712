"""Stepwise's web server: FastAPI routes, sessions and the stream over the NumPy engine."""

__version__ = "0.1.0"
