"""``python -m flows.cli``: the ``ews`` command line."""

from flows.cli import app

app()
