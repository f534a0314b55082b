"""Datasets: keypoint facts, loaders, transforms and synthetic twins."""
