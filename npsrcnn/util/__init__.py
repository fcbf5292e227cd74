"""Plumbing every package shares: errors meant for the user, safe file writes, Numba's options, threads."""
