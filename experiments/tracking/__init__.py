"""Runs, their params, tags, metric histories and artifacts, and the MLflow-compatible tracking API."""
