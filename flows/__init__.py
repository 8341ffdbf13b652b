"""Prefect 3 flows that tie the stages together (thin: they call the stage packages).

``crawl`` (a task per source), ``etl`` (extraction mapped over batches), ``gate`` (declared
data-quality checks), ``analyze`` (the report bundle), ``refresh`` (the annual refresh and the
weekly update), ``deployments`` (``aimap serve`` / ``aimap deploy``, from
``prefect.yaml``), ``notify`` (failure notifications), ``config`` (operator settings). The flows
call the stages' plain functions and add retries, concurrency, mapping and artifacts; runs and the
per-edition step ledger are recorded by :mod:`db.runs`. Operator guide: docs/operations.md.
"""

import os

#: Prefect's lease storage that keeps leases in files (shared by every local process and server).
LEASES_ON_DISK = "prefect.server.concurrency.lease_storage.filesystem"

# Offline operation (docs/operations.md): a flow run started by a worker from a deployment imports
# flows/ without aimap/, so the same Prefect defaults as aimap/__init__.py are set here, before Prefect
# reads its settings: no analytics, telemetry or promotional content; an environment value wins.
for _name in ("PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT",
              "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY"):
    os.environ.setdefault(_name, "false")
# Concurrency leases on disk (PREFECT_HOME/concurrency_leases), not in the API server's memory: the
# ephemeral server dies with the command that started it, and with in-memory leases the slots of a
# killed crawl were held forever (issue 14). On disk the next run sees the lease expire and gives
# the slots back (flows/crawl.py: reclaim_slots).
os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE", LEASES_ON_DISK)
