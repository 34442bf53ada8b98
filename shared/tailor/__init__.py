"""Tailor: customize Amazon Nova models, event-driven and serverless."""

__version__ = "0.1.0"
