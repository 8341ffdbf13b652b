"""Messages, not tracebacks, when input or the database is hostile (issue 14, finding 7):

- Rich markup in data (``[/bold]`` in a name, a title, a file name) is printed as it is, never
  read as markup (it crashed ``firms import`` and ``extract``);
- ``aimap extract`` skips a bad line — a numeric title, bytes that are not UTF-8 — with its
  line number and reason, and extracts the others;
- a database that cannot be reached gives one line with its URL (password hidden) and the next step.
"""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from aimap.cli import app
from demosite.render import render_site
from demosite.world import build_world

runner = CliRunner()
MARKUP = "[/bold][red]"


def test_markup_in_registry_data_and_file_names_is_printed_as_is(env_db, tmp_path):
    manifest = render_site(build_world(seed=7, preset="tiny"), tmp_path / "world")
    rows = list(csv.DictReader(manifest.registry_csv.open(encoding="utf-8")))
    name_column = next(k for k in rows[0] if "name" in k.lower() or "名称" in k)
    rows[0][name_column] = f"{MARKUP}{rows[0][name_column]}"
    (tmp_path / "firms [").mkdir()
    path = tmp_path / "firms [" / "bold] list.csv"  # the path reads ".../firms [/bold] list.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["firms", "import", str(path), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert not result.exception or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "firms [/bold] list.csv" in result.output  # the file name, printed as it is


def test_extract_skips_bad_lines_with_their_reasons(tmp_path):
    good = {"id": "ok", "text": "2023年5月，百度与华为签署战略合作协议。", "title": f"{MARKUP}合作"}
    lines = [json.dumps(good, ensure_ascii=False).encode(),
             json.dumps({"id": "numeric-title", "text": "华为与百度合作。", "title": 2023}).encode(),
             b'{"id": "latin1", "text": "caf\xe9"}',
             json.dumps({"id": MARKUP, "text": "没有合作。"}, ensure_ascii=False).encode()]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", "--in", str(source), "--out", str(out), "--rules-only"])
    assert result.exit_code == 1, result.output  # bad lines: reported, and the exit says so
    assert "Traceback" not in result.output and not isinstance(result.exception, UnicodeDecodeError | TypeError)
    assert ":2: field 'title' must be a string, got int" in result.output, result.output
    assert ":3: not UTF-8" in result.output, result.output
    assert "2 bad lines" in result.output, result.output
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["ok", MARKUP]


def test_an_unreachable_database_is_one_line_with_the_url_and_the_next_step(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://aimap:s3cret@127.0.0.1:1/nowhere")
    monkeypatch.setenv("AIMAP_HOME", str(tmp_path))
    result = runner.invoke(app, ["etl"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "cannot connect to the database postgresql+psycopg://aimap:***@127.0.0.1:1/nowhere" in lines[0]
    assert "s3cret" not in result.output and "re-run the same command" in lines[0]
