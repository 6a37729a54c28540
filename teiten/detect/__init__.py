"""Detection of notable phenomena (DESIGN §4): fingerprints, backscatter, scans, changes."""
