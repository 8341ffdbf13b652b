"""Prefect 3 flows that tie the stages together (thin: they call the stage packages)."""
