"""Detection of notable phenomena (docs/detection.md): fingerprints, backscatter, scans, changes."""
