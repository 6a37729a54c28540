"""Reports: the published reports' tables, charts and sentences from data (docs/architecture.md)."""
