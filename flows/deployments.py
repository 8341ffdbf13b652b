"""Deployments and schedules of aimap's flows, declared once in ``flows/deployments.yml``.

:func:`serve_all` runs every deployment in this process (``prefect.serve``: the flows execute
as subprocesses of it, schedules fire from the Prefect server) — the single-machine install,
``aimap serve``. :func:`deploy_all` registers the same deployments on a work pool so that
workers (docker-compose's ``aimap-worker``) run them — ``aimap deploy``; ``prefect.yaml`` at the
repository root declares the same for ``prefect deploy --all``. Both need a Prefect server
(``PREFECT_API_URL``): schedules are kept by the server, not by the ephemeral mode.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.datafiles import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = Path(__file__).resolve().parent / "deployments.yml"


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


def load_specs(path: Path = SPEC_FILE) -> tuple[str, list[DeploymentSpec]]:
    """The work pool name and every declared deployment."""
    data = read_yaml(Path(path))
    tz = data.get("timezone", "Asia/Shanghai")
    specs = [DeploymentSpec(name=d["name"], entrypoint=d["entrypoint"], cron=d.get("cron"), timezone=tz,
                            description=d.get("description", ""), tags=tuple(d.get("tags") or ()),
                            parameters=dict(d.get("parameters") or {})) for d in data["deployments"]]
    return str(data.get("work_pool", "aimap-pool")), specs


def _schedules(spec: DeploymentSpec) -> list[Any]:
    from prefect.schedules import Cron

    return [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else []


def build_deployments(specs: list[DeploymentSpec] | None = None) -> list[Any]:
    """The ``RunnerDeployment`` of every spec, for ``prefect.serve``."""
    specs = specs if specs is not None else load_specs()[1]
    return [spec.flow().to_deployment(name=spec.name, schedules=_schedules(spec), description=spec.description,
                                      tags=list(spec.tags), parameters=spec.parameters) for spec in specs]


def serve_all(limit: int | None = None) -> None:
    """Serve every deployment in this process until interrupted (``aimap serve``)."""
    from prefect import serve

    serve(*build_deployments(), limit=limit)


def deploy_all(work_pool: str | None = None, source: str | Path | None = None) -> list[str]:
    """Register every deployment on ``work_pool`` with the code at ``source`` (as the workers see it).

    ``source`` defaults to this repository's root (``/app`` in the docker image). Returns the
    ids of the registered deployments.
    """
    from prefect import deploy
    from prefect.flows import Flow

    pool, specs = load_specs()
    deployments = []
    for spec in specs:
        remote = Flow.from_source(source=str(source or ROOT), entrypoint=spec.entrypoint)
        deployments.append(remote.to_deployment(name=spec.name, schedules=_schedules(spec),
                                                description=spec.description, tags=list(spec.tags),
                                                parameters=spec.parameters))
    ids = deploy(*deployments, work_pool_name=work_pool or pool, build=False, push=False,
                 print_next_steps_message=False, ignore_warnings=True)
    return [str(i) for i in ids]
