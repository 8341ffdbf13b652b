"""``aimap firms``: import the institute's firm registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aimap.runtime import console, err, fail, prepared, tagged
from db.runs import recorded_run
from etl.registry import RegistryImportError, import_registry

firms_app = typer.Typer(help="The firm registry: the institute's list of sample firms.", no_args_is_help=True)


@firms_app.command("import")
def firms_import(
    path: Annotated[Path, typer.Argument(help="Registry file: .csv (UTF-8 or GB18030) or .xlsx.", exists=True,
                                         dir_okay=False)],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Import the good rows; write bad ones to a rejects file.")] = False,
    rejects: Annotated[Path | None, typer.Option(help="Rejects file (default: <file>.rejects.csv).")] = None,
) -> None:
    """Import the firm registry: validate every row; import nothing if any row is bad (unless --skip-bad).

    Columns are documented in docs/registry.md (English or Chinese headers). Re-importing the
    same file changes nothing; a changed file updates firms in place.
    """
    prepared()
    try:
        with recorded_run("firms-import", {"path": str(path), "skip_bad": skip_bad}) as (session, run):
            report = import_registry(session, path, skip_bad=skip_bad, rejects_path=rejects)
            run.counts = {"rows": report.rows, "created": report.created, "updated": report.updated,
                          "unchanged": report.unchanged, "rejected": report.rejected, "merged": report.merged,
                          "reextract": report.reextract}
    except RegistryImportError as exc:
        fail(f"{exc}\nnothing was imported; fix the rows or pass --skip-bad.")
    for warning in report.warnings:
        err.print(tagged("warning:", "yellow", f"{warning}"), highlight=False)
    console.print(
        f"{path}: {report.rows} rows — created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {report.rejected}"
        + (f" (see {report.rejects_path})" if report.rejected else ""),
        highlight=False,
    )
    if report.merged:
        console.print(f"{report.merged} organisation(s) the ETL had made under a name of a sample firm: merged into it",
                      highlight=False)
    if report.reextract:
        console.print(f"{report.reextract} stored document(s) name a firm this import added or changed: "
                      "the next `aimap etl` extracts them again", highlight=False)

