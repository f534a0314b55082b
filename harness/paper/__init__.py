"""What the harness declares about the paper beside its tables: its modules (`modules`: the
ablation switches) and its ambiguous passages (`readings`). Light: no torch."""
