"""Incident handling: reports, the incidents in them and the coordination with the parties
who can act (DESIGN §5), in SQLAlchemy over SQLite (default) or PostgreSQL."""
