"""Sensors: capturing on a sensor host, answering SYNs, spooling and shipping captures to the
collector, and their health (the room for that work; see docs/architecture.md)."""
