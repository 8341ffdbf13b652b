"""Prefect 3 flows that tie the stages together (thin: they call the stage packages).

``crawl`` (a task per source), ``etl`` (extraction mapped over batches), ``gate`` (declared
data-quality checks), ``analyze`` (the report bundle), ``refresh`` (the annual refresh and the
weekly update), ``demo`` (``make demo``), ``deployments`` (``aimap serve`` / ``aimap deploy``),
``steps`` (the per-edition step ledger in ``pipeline_runs``), ``notify`` (failure notifications).
Operator guide: docs/operations.md.
"""
