"""Benchmarks, dataset versions, predictions, evaluations on workers, and the champion's promotion gate."""
