"""The ``demosite`` command line: generate, serve and step the demo world, and run the demo over it.

The demo world is the test world, not part of the system under test, so it has its own command
line (the ``demosite`` console script) and the system's (``aimap``) knows nothing of it:

- ``demosite generate|serve|step``: render a world (site, ``firms.csv``, crawl ``sources/`` and
  ground truth ``truth/``), serve it on 127.0.0.1, advance it by one year of news;
- ``demosite demo`` (what ``make demo`` runs): generate the small world when it is absent, serve
  it, and drive the system through its public command line as subprocesses — ``aimap db
  upgrade``, ``aimap firms import``, ``aimap refresh`` with the world's sources and base URL —
  streaming their output, then print Table 1 and where the report is. Running it again resumes:
  the world is kept, the registry import changes nothing and the refresh redoes nothing finished.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from common.config import home_dir, safe_url
from demosite.render import render_site, step_world
from demosite.server import serve, serve_forever
from demosite.world import PRESETS, build_world

#: World size presets as a closed choice (an unknown one is a one-line usage error).
PresetName = Enum("PresetName", {name: name for name in PRESETS}, type=str)  # type: ignore[misc]

app = typer.Typer(
    name="demosite",
    help="The demo world: a generated, calibrated public web with its ground truth, served on 127.0.0.1 — "
         "the test world aimap is measured against, and the demo that runs aimap over it.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

WORLD_OPTION = typer.Argument(help="World directory (default: $AIMAP_HOME/world).")


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _default_world() -> Path:
    return home_dir() / "world"


@app.command()
def generate(
    scale: Annotated[PresetName, typer.Option("--scale", help="World size preset.")] = "tiny",  # type: ignore[assignment]
    seed: Annotated[int, typer.Option(help="Random seed (same seed and scale -> byte-identical output).")] = 7,
    out: Annotated[Path | None, typer.Option(help="Output directory (default: $AIMAP_HOME/world).")] = None,
) -> None:
    """Generate a demo world and render it: site/, firms.csv, sources/ and truth/ (ground truth)."""
    scale = PresetName(scale).value  # a plain str from here on
    target = out or _default_world()
    started = time.perf_counter()
    try:
        world = build_world(seed=seed, preset=scale)
    except ValueError as exc:
        _fail(str(exc))
    built = time.perf_counter()
    manifest = render_site(world, target)
    done = time.perf_counter()
    typer.echo(
        f"world {scale} (seed {seed}) written to {target}: {manifest.firms:,} sample firms, "
        f"{manifest.partners:,} relation nodes, {manifest.events:,} events, {manifest.documents:,} documents, "
        f"{manifest.pages:,} files and {manifest.host_files:,} under emulated real hosts (site/_hosts/: cninfo, "
        f"HKEXnews, newsrooms and portals by sitemap and feed; PDFs are built when first requested) "
        f"(model {built - started:.1f} s, rendering {done - built:.1f} s)"
    )
    typer.echo(f"next: aimap firms import {target / 'firms.csv'}; demosite serve {target}")


@app.command("serve")
def serve_cmd(
    directory: Annotated[Path | None, WORLD_OPTION] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
) -> None:
    """Serve a generated world on http://127.0.0.1:PORT until interrupted (ETag/Last-Modified aware)."""
    root = directory or _default_world()
    if not (root / "site").exists() and not (root / "index.html").exists():
        _fail(f"{root} holds no generated world; run `demosite generate --out {root}` first")
    typer.echo(f"serving {root} on http://127.0.0.1:{port}/ (Ctrl-C to stop); real hosts under "
               f"http://127.0.0.1:{port}/_hosts/<host>/ (crawl with --base-url http://127.0.0.1:{port})")
    serve_forever(root, "127.0.0.1", port)


@app.command()
def step(directory: Annotated[Path | None, WORLD_OPTION] = None) -> None:
    """Advance a generated world by one year of news (the next annual refresh's input), in place."""
    root = directory or _default_world()
    try:
        manifest, year = step_world(root)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"{root}: world now runs through {year}: {manifest.events:,} events, {manifest.documents:,} documents")


# --------------------------------------------------------------------------- the demo


def _aimap() -> list[str]:
    """The system's command line: the ``aimap`` script beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "aimap"
    found = str(beside) if beside.exists() else shutil.which("aimap")
    if found is None:
        _fail("the `aimap` command is not installed (pip install -e . puts it beside this Python)")
    return [found]


def _run(args: list[str]) -> list[str]:
    """Run ``aimap ARGS``, echoing its output line by line; its lines, or exit with its code on failure."""
    command = _aimap() + args
    typer.echo(f"\n$ aimap {' '.join(args)}")
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          encoding="utf-8", errors="replace", bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
    if process.returncode:
        _fail(f"`aimap {' '.join(args)}` failed (exit {process.returncode}); fix the cause and run "
              "`demosite demo` again: it resumes", process.returncode)
    return lines


def _world_for_demo(root: Path, preset: str, seed: int) -> dict:
    """The demo world in ``root``: the one there when it has this seed and preset, else a fresh render."""
    spec_file = root / "world.json"
    if spec_file.exists():
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
        if spec.get("seed") == seed and spec.get("preset") == preset:
            typer.echo(f"demo world {preset} (seed {seed}) through {spec['through_year']} in {root} (kept)")
            return spec
    try:
        world = build_world(seed=seed, preset=preset)
    except ValueError as exc:
        _fail(str(exc))
    manifest = render_site(world, root)
    typer.echo(f"demo world {preset} (seed {seed}) through {world.through_year}: {manifest.firms} firms, "
               f"{manifest.documents} documents in {manifest.root}")
    return json.loads(spec_file.read_text(encoding="utf-8"))


@app.command()
def demo(
    preset: Annotated[PresetName, typer.Option(help="Demo world size preset.")] = "tiny",  # type: ignore[assignment]
    seed: Annotated[int, typer.Option(help="Demo world seed.")] = 7,
    edition: Annotated[int | None, typer.Option(help="Report edition (default: the world's last year + 1).")] = None,
) -> None:
    """Run aimap over the demo web: world -> `aimap db upgrade` -> `aimap firms import` -> `aimap refresh`
    (crawl -> ETL -> gate -> report -> publish). Running it again resumes (what completed is not redone)."""
    preset = PresetName(preset).value  # a plain str from here on
    root = _default_world()
    spec = _world_for_demo(root, preset, seed)
    year = edition or int(spec["through_year"]) + 1
    _run(["db", "upgrade"])
    _run(["firms", "import", str(root / "firms.csv")])
    with serve(root / "site") as server:
        typer.echo(f"demo web served at {server.base_url}")
        lines = _run(["refresh", "--edition", str(year), "--sources", str(root / "sources"),
                      "--base-url", server.base_url, "--retry-delay", "2"])
    report = next((line.removeprefix("report: ").strip() for line in reversed(lines)
                   if line.startswith("report: ")), None)
    if report is None:
        _fail("`aimap refresh` did not say where the report is")
    directory = Path(report).parent
    typer.echo(f"\ndatabase: {safe_url()}")
    table1 = directory / "table1.md"
    if table1.exists():
        typer.echo(table1.read_text(encoding="utf-8"))
    typer.echo(f"report of edition {year}: {report}")
    typer.echo(f"every file (with MANIFEST.json): {directory}")


def main() -> None:  # pragma: no cover - console entry point
    """Entry point for ``python -m demosite.cli``."""
    app(prog_name="demosite")


if __name__ == "__main__":  # pragma: no cover
    main()
