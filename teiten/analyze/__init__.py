"""Analyses over the store (docs/analysis.md)."""
