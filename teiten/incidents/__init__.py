"""Incident handling: reports, the incidents in them and the coordination with the parties
who can act (docs/incidents.md), in SQLAlchemy over SQLite (default) or PostgreSQL."""
