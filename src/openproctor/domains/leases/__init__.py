"""Leases: which node of a cluster does a once-per-cluster job (the background sweeps)."""
