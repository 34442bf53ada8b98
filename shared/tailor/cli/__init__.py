"""The ``tailor`` command."""
