"""LOFR network."""
