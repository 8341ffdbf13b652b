"""Prefect 3 flows that tie the stages together (thin: they call the stage packages).

``crawl`` (a task per source), ``etl`` (extraction mapped over batches), ``gate`` (declared
data-quality checks), ``analyze`` (the report bundle), ``refresh`` (the annual refresh and the
weekly update), ``deployments`` (``aimap serve`` / ``aimap deploy``, from
``prefect.yaml``), ``notify`` (failure notifications), ``config`` (operator settings). The flows
call the stages' plain functions and add retries, concurrency, mapping and artifacts; runs and the
per-edition step ledger are recorded by :mod:`db.runs`. Operator guide: docs/operations.md.
"""
