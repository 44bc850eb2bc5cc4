"""Periodic work: each job lives in its feature, registered with its interval; the worker runs what is due."""
