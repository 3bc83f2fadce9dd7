"""Modal screens: help and the missed-anomaly dialog."""
