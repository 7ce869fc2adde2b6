"""Input data: in-memory datasets and the deterministic, resumable batch iterator training reads."""
