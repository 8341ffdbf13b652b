"""What operators read in the Prefect UI: flow runs named by what they do, tagged with edition and database.

Prefect names a run ``subtle-hare`` unless told otherwise. Every aimap flow is declared with a
``flow_run_name`` (:func:`run_name`: named from its parameters before it starts, so its log lines
carry the name too) and calls :func:`label_run` when it starts: the run is (re)named (``annual-refresh-2024``, ``etl-2024``,
``crawl-demo-gov-2026-12-04``, ``weekly-update-2026-12-04``) and tagged ``edition:<year>`` and
``db:<database URL, password hidden>``, whether it was started by ``aimap``, by a deployment's
schedule or as a subflow. Subflows started inside :func:`labelled` carry the tags from their
creation on. A run published over an overridden gate check ends in the Completed state named
:data:`OVERRIDDEN` (:func:`overridden_state`), so it stands out from a plain green Completed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from prefect import get_run_logger, tags
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run
from prefect.states import Completed, State

from common.config import safe_url

OVERRIDDEN = "Overridden"
TIMEZONE = ZoneInfo("Asia/Shanghai")


def run_tags(edition: int | None = None) -> list[str]:
    """The tags of an aimap flow run: ``aimap``, ``edition:<year>`` (when known) and ``db:<url>``."""
    found = ["aimap", f"db:{safe_url()}"]
    if edition is not None:
        found.insert(1, f"edition:{int(edition)}")
    return found


def today() -> str:
    """Today's date in Asia/Shanghai (ISO), for run names."""
    return dt.datetime.now(TIMEZONE).date().isoformat()


def crawl_run_name(sources: list[str] | None, edition: int | None = None) -> str:
    """``crawl-<source>-<date>`` for one source, ``crawl-<n>-sources-<date>`` for several, ``crawl-all-…``."""
    what = "all" if not sources else sources[0] if len(sources) == 1 else f"{len(sources)}-sources"
    return f"crawl-{what}-{edition}-{today()}" if edition else f"crawl-{what}-{today()}"


def run_name(prefix: str, key: str | None = "edition", default: Callable[[], str] = today) -> Callable[[], str]:
    """A ``flow_run_name`` for ``@flow``: ``<prefix>-<the run's parameter key>``, or ``<prefix>-<default()>``
    when it is unset — so the run has its name (in the UI and in its log lines) from its start."""
    def name() -> str:
        value = (flow_run.parameters or {}).get(key) if key else None
        return f"{prefix}-{value if value not in (None, '') else default()}"

    return name


def this_year() -> str:
    """This year in Asia/Shanghai (the default edition of an annual refresh)."""
    return str(dt.datetime.now(TIMEZONE).year)


def label_run(name: str, edition: int | None = None) -> None:
    """Rename the current flow run to ``name`` and add the aimap tags; a no-op outside a flow run.

    Labels are for people: a failure to set them is logged, never raised.
    """
    run_id = flow_run.get_id()
    if not run_id:
        return
    try:
        current = set(flow_run.get_tags() or ())
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(str(run_id)), name=name, tags=sorted(current | set(run_tags(edition))))
    except Exception as exc:  # noqa: BLE001 - a label must not fail the run
        get_run_logger().warning("could not label the flow run %s: %s", run_id, exc)


@contextmanager
def labelled(edition: int | None = None) -> Iterator[None]:
    """Subflows created in this block carry the aimap tags (:func:`run_tags`)."""
    with tags(*run_tags(edition)):
        yield


def overridden_state(result: Any, message: str) -> State:
    """The final state of a run that published over an overridden gate check: Completed, named Overridden."""
    return Completed(name=OVERRIDDEN, message=message, data=result)
