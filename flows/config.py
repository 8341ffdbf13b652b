"""Operator settings of the flows, read from the environment (documented in docs/operations.md).

| variable | default | meaning |
|---|---|---|
| ``AIMAP_CRAWL_CONCURRENCY`` | 4 | crawls running at once, over every flow (Prefect global limit ``aimap-crawl``) |
| ``AIMAP_CRAWL_DOMAIN_LIMIT`` | 1 | crawls of one domain at once (global limits ``crawl-domain-<domain>``) |
| ``AIMAP_CRAWL_LEASE_SECONDS`` | 60 | lease of a crawl's slots: renewed while it runs; a crawl that died on another host gives them back this long after (min 60) |
| ``AIMAP_NOTIFY_WEBHOOK`` | unset | URL that receives a JSON POST when a flow run fails |
| ``AIMAP_NOTIFY_BLOCK`` | unset | ``<block-type>/<name>`` of a saved Prefect notification block to notify on failure |
| ``AIMAP_DASK_ADDRESS`` | unset | ETL extraction on Dask: ``local`` (a temporary local cluster) or a scheduler address |
| ``AIMAP_DASK_WORKERS`` | 2 | worker processes of the ``local`` Dask cluster |
| ``AIMAP_ETL_DURING_CRAWL`` | 2000 | the annual refresh runs an ETL pass while it crawls whenever this many documents are pending (PostgreSQL only; 0: never) |

Values are read when a flow runs, not at import, so a served deployment picks up a changed
environment at its next run.
"""

from __future__ import annotations

import os


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def crawl_concurrency() -> int:
    """How many crawls may run at once, over every flow and worker."""
    return _int("AIMAP_CRAWL_CONCURRENCY", 4)


def crawl_domain_limit() -> int:
    """How many crawls may fetch from one domain at once."""
    return _int("AIMAP_CRAWL_DOMAIN_LIMIT", 1)


def crawl_lease_seconds() -> int:
    """How long a crawl's slots outlive a crawl that died (the lease is renewed while it runs; Prefect's minimum is 60)."""
    return _int("AIMAP_CRAWL_LEASE_SECONDS", 60, minimum=60)


def notify_webhook() -> str | None:
    """The failure-notification webhook URL, if configured."""
    return os.environ.get("AIMAP_NOTIFY_WEBHOOK", "").strip() or None


def notify_block() -> str | None:
    """The name of the Prefect notification block to notify on failure, if configured."""
    return os.environ.get("AIMAP_NOTIFY_BLOCK", "").strip() or None


def dask_address() -> str | None:
    """Where the ETL's extraction tasks run: None (threads in the flow's process), ``local`` or an address."""
    return os.environ.get("AIMAP_DASK_ADDRESS", "").strip() or None


def dask_workers() -> int:
    """Worker processes of the temporary local Dask cluster."""
    return _int("AIMAP_DASK_WORKERS", 2)


def etl_during_crawl() -> int:
    """Pending documents that start an ETL pass while the refresh still crawls (0: no such passes)."""
    return _int("AIMAP_ETL_DURING_CRAWL", 2000, minimum=0)
