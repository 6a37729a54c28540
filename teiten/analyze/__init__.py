"""Analyses over the store (DESIGN §3)."""
