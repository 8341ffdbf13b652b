"""aimap: China AI-industry value-network ETL service — the ``aimap`` command line.

This package is one of the two faces of the system (the other is :mod:`flows`, Prefect): the
Typer app (:mod:`aimap.cli`) with one module per command group in :mod:`aimap.commands`. The
stages live in the top-level packages ``crawlers``, ``etl`` and ``analysis``; the foundation in
``common`` (configuration, data files, text folding) and ``db``.
"""

import os

__version__ = "0.1.0"

# Prefect reads its settings when it is first imported (by flows/, which the command modules import
# at their top), so the local API's defaults are set here, before anything else of the CLI loads:
# time for the ephemeral API to start on a slow or busy machine (its first start migrates), and no
# telemetry, analytics or promotional content (offline operation: docs/operations.md).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
os.environ.setdefault("PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY", "false")
# Crawl slots are leased, and the leases kept on disk so a killed command's slots come back (flows/__init__.py).
os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", "prefect.server.concurrency.lease_storage.filesystem")
