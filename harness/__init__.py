"""LOFR ablation harness."""
