"""Deployments and schedules of aimap's flows, declared once in ``prefect.yaml`` (repository root).

``prefect.yaml`` is the file Prefect's own ``prefect deploy --all`` reads; this module reads the
same file, so the list of deployments and their schedules has one home:

- :func:`serve_all` runs every deployment in this process (``prefect.serve``: the flows execute
  as subprocesses of it, schedules fire from the Prefect server) — the single-machine install,
  ``aimap serve``;
- :func:`deploy_all` registers the same deployments on a work pool so that workers
  (docker-compose's ``aimap-worker``) run them — ``aimap deploy``.

Both need a Prefect server (``PREFECT_API_URL``): schedules are kept by the server, not by the
ephemeral mode.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import deploy, serve
from prefect.flows import Flow
from prefect.schedules import Cron

from common.datafiles import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC_NAME = "prefect.yaml"
DEFAULT_POOL = "aimap-pool"


class DeploymentSpecError(ValueError):
    """``prefect.yaml`` declares something aimap cannot serve or deploy."""


@dataclass(frozen=True)
class DeploymentSpec:
    """One declared deployment: its name, flow entrypoint (``path.py:function``), schedule and tags."""

    name: str
    entrypoint: str
    cron: str | None = None
    timezone: str = "Asia/Shanghai"
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)

    def flow(self) -> Any:
        """The flow object the entrypoint names."""
        path, function = self.entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        return getattr(module, function)

    def schedules(self) -> list[Cron]:
        """The deployment's schedules (none: it runs on demand)."""
        return [Cron(self.cron, timezone=self.timezone)] if self.cron else []


def _spec(entry: dict[str, Any]) -> DeploymentSpec:
    schedules = entry.get("schedules") or []
    if len(schedules) > 1 or any("cron" not in s for s in schedules):
        raise DeploymentSpecError(f"deployment {entry.get('name')}: aimap serves at most one cron schedule")
    first = schedules[0] if schedules else {}
    return DeploymentSpec(name=entry["name"], entrypoint=entry["entrypoint"], cron=first.get("cron"),
                          timezone=first.get("timezone", "Asia/Shanghai"), description=entry.get("description", ""),
                          tags=tuple(entry.get("tags") or ()), parameters=dict(entry.get("parameters") or {}))


def spec_file() -> Path:
    """``prefect.yaml`` of this checkout; for an installed package (the docker image installs the
    packages and keeps the project in ``/app``, its working directory), the one in the working
    directory — where ``prefect deploy --all`` reads it too."""
    for candidate in (ROOT / SPEC_NAME, Path.cwd() / SPEC_NAME):
        if candidate.is_file():
            return candidate
    raise DeploymentSpecError(f"no {SPEC_NAME} in {ROOT} or in the working directory {Path.cwd()}; "
                              "run from the project directory")


def load_specs(path: Path | None = None) -> tuple[str, list[DeploymentSpec]]:
    """The work pool name and every deployment declared in ``prefect.yaml``."""
    path = Path(path) if path else spec_file()
    entries = read_yaml(path)["deployments"]
    pools = {(e.get("work_pool") or {}).get("name", DEFAULT_POOL) for e in entries}
    if len(pools) > 1:
        raise DeploymentSpecError(f"{path}: every deployment must use one work pool, found {sorted(pools)}")
    return (pools.pop() if pools else DEFAULT_POOL), [_spec(e) for e in entries]


def build_deployments(specs: list[DeploymentSpec] | None = None) -> list[Any]:
    """The ``RunnerDeployment`` of every spec, for ``prefect.serve``."""
    specs = specs if specs is not None else load_specs()[1]
    return [spec.flow().to_deployment(name=spec.name, schedules=spec.schedules(), description=spec.description,
                                      tags=list(spec.tags), parameters=spec.parameters) for spec in specs]


def serve_all(limit: int | None = None) -> None:
    """Serve every deployment in this process until interrupted (``aimap serve``)."""
    serve(*build_deployments(), limit=limit)


def deploy_all(work_pool: str | None = None, source: str | Path | None = None) -> list[str]:
    """Register every deployment on ``work_pool`` with the code at ``source`` (as the workers see it).

    ``source`` defaults to this repository's root (``/app`` in the docker image). Returns the
    ids of the registered deployments.
    """
    pool, specs = load_specs()
    deployments = []
    path = list(sys.path)
    try:
        for spec in specs:
            remote = Flow.from_source(source=str(source or ROOT), entrypoint=spec.entrypoint)
            deployments.append(remote.to_deployment(name=spec.name, schedules=spec.schedules(),
                                                    description=spec.description, tags=list(spec.tags),
                                                    parameters=spec.parameters))
    finally:
        # Prefect's load_script_as_module puts the entrypoint's folder (flows/) first on sys.path and
        # leaves it there; its etl.py would then shadow the etl package in every process this one
        # starts later (an extraction pool's workers failed to import etl.pipeline)
        sys.path[:] = path
    ids = deploy(*deployments, work_pool_name=work_pool or pool, build=False, push=False,
                 print_next_steps_message=False, ignore_warnings=True)
    return [str(i) for i in ids]
