"""User mistakes end with one `error:` line and a non-zero exit, never a traceback (issue 16, item 10);
`--debug` shows the traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aimap.cli import app
from demosite.cli import app as demosite_app

runner = CliRunner()


def _one_line(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert not result.exception or isinstance(result.exception, SystemExit), result.exception
    for needle in needles:
        assert needle in result.output, result.output


def test_db_downgrade_checks_the_revision_before_asking(env_db):
    result = runner.invoke(app, ["db", "downgrade", "nope"])  # no --yes, no input: it must not ask
    _one_line(result, 1, "unknown revision 'nope'", "0001")
    assert "?" not in result.output
    _one_line(runner.invoke(app, ["db", "upgrade", "9999"]), 1, "unknown revision '9999'")


def test_refresh_before_the_cutoff_is_one_line(env_db):
    _one_line(runner.invoke(app, ["refresh", "--edition", "2999"]), 1, "has not passed yet")
    _one_line(runner.invoke(app, ["refresh", "--cutoff", "31.12.2023"]), 1, "--cutoff must be a date")


@pytest.mark.parametrize("args", [
    ["review", "list", "--kind", "foo"],
    ["analyze", "--mutual", "sideways"],
    ["index", "--level", "street"],
    ["index", "--weights", "ahp"],
    ["review", "bulk", "maybe", "--yes"],
    ["runs", "--state", "lost"],
])
def test_closed_choices(args):
    result = runner.invoke(app, args)
    _one_line(result, 2, "is not one of")


@pytest.mark.parametrize("args", [["generate", "--scale", "huge"], ["demo", "--preset", "huge"]])
def test_demosite_presets_are_choices(args):
    _one_line(runner.invoke(demosite_app, args), 2, "'huge' is not one of")


def test_an_unexpected_failure_is_one_line_and_debug_shows_it(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://aimap:s3cret@127.0.0.1:1/nowhere")
    monkeypatch.setenv("AIMAP_HOME", str(tmp_path))
    result = runner.invoke(app, ["runs"])
    _one_line(result, 1, "error: OperationalError", "--debug")
    assert "s3cret" not in result.output and len(result.output.strip().splitlines()) == 1
    debug = runner.invoke(app, ["--debug", "runs"])
    assert debug.exit_code == 1 and debug.exception is not None and not isinstance(debug.exception, SystemExit)
