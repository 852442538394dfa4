"""Benchmarks of crm1c against the contour (scripts that print figures, not tests)."""
