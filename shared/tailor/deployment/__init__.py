"""Deployment: a completed run's custom model becomes an on-demand deployment users can invoke."""
