"""Reports: the seeds' tables, charts and sentences from data (DESIGN §1)."""
