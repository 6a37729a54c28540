"""The web UI and JSON API of the incident database (``teiten serve``)."""
