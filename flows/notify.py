"""Failure notifications: a Prefect ``on_failure`` hook that tells the operator a run failed.

Configured by environment (see :mod:`flows.config` and docs/operations.md):

- ``AIMAP_NOTIFY_WEBHOOK=https://…`` — the hook POSTs one JSON object (:func:`failure_payload`)
  to the URL (chat bridges, incident tools, a small relay); a non-2xx answer or a network error
  is logged, never raised (a notification problem must not hide the run's own failure);
- ``AIMAP_NOTIFY_BLOCK=<block-type>/<name>`` (e.g. ``slack-webhook/ops``) — the hook loads that
  saved Prefect notification block (Slack, Microsoft Teams, e-mail, a custom webhook …, created
  in the UI or with ``prefect block create``) and calls its ``notify``.

Only top-level runs notify: a failing subflow makes its parent fail (or the parent reports it),
so one failure gives one message. Prefect automations ("flow run enters Failed -> send a
notification") are the server-side alternative; docs/operations.md shows both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from prefect.blocks.core import Block

from flows.config import notify_block, notify_webhook

logger = logging.getLogger("aimap.notify")


def failure_payload(flow_name: str, flow_run: Any, state: Any) -> dict[str, Any]:
    """The JSON body of a failure notification: what failed, where, and why."""
    parameters = dict(getattr(flow_run, "parameters", None) or {})
    return {
        "event": "aimap.flow-run.failed",
        "flow": flow_name,
        "flow_run": getattr(flow_run, "name", None),
        "flow_run_id": str(getattr(flow_run, "id", "")),
        "deployment_id": str(flow_run.deployment_id) if getattr(flow_run, "deployment_id", None) else None,
        "state": getattr(state, "name", None),
        "message": getattr(state, "message", None),
        "parameters": json.loads(json.dumps(parameters, default=str)),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON to ``url``; return the HTTP status (raises on network errors)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "aimap-notify"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator-configured URL
        return int(response.status)


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` hook: notify the configured webhook and/or block (top-level runs only)."""
    if getattr(flow_run, "parent_task_run_id", None) is not None:
        return
    payload = failure_payload(getattr(flow, "name", str(flow)), flow_run, state)
    url = notify_webhook()
    if url:
        try:
            status = post_json(url, payload)
            if not 200 <= status < 300:
                logger.warning("failure webhook answered HTTP %s", status)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            logger.warning("failure webhook %s not reached: %s", url, exc)
    block_name = notify_block()
    if block_name:
        try:
            block = Block.load(block_name)
            block.notify(  # type: ignore[attr-defined]
                f"aimap: flow run {payload['flow_run']} of {payload['flow']} failed: {payload['message']}",
                subject=f"aimap: {payload['flow']} failed",
            )
        except Exception as exc:  # noqa: BLE001 - never mask the run's own failure
            logger.warning("notification block %s failed: %s", block_name, exc)
