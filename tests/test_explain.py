"""`aimap explain SOURCE TARGET`: every event and sentence behind one edge (both engines, real CLI)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from aimap.cli import app
from db.session import make_engine, session_factory
from tests.test_edge_evidence import add_evidence
from tests.test_stats import A, B, build_world


def test_explain_prints_every_event_and_sentence_of_an_edge(env_db):
    engine = make_engine(env_db)
    with session_factory(engine)() as s:
        build_world(s)
        add_evidence(s)
    engine.dispose()
    runner = CliRunner()
    res = runner.invoke(app, ["explain", "甲", "乙股份", "--edition", "2024"])  # short alias, stock short name
    assert res.exit_code == 0, res.output
    assert f"[{A}] -> 乙电子股份有限公司 [{B}], network of 2023 (edition 2024): 2 event(s), 4 mention(s)" in res.output
    for sentence in ("甲与乙签署供货协议。", "甲向乙供应芯片。", "乙采购甲的系统。", "乙再次采购甲。"):
        assert sentence in res.output
    assert "E2 event:" in res.output and "E3 event:" in res.output and "http://127.0.0.1/a (2022-03-01;" in res.output

    res = runner.invoke(app, ["explain", str(A), str(B), "--edition", "2024", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["event_ids"] == [2, 3] and data["mentions"] == 4
    assert [m["url"] for m in data["events"][0]["mentions"]] == ["http://127.0.0.1/a", "http://127.0.0.1/b"]

    # only events of the edition's network: in 2022 (edition 2023) B -> A did not exist yet, A -> B did
    res = runner.invoke(app, ["explain", "乙", "甲", "--edition", "2023"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "no edge" in res.output and "the reverse edge" in res.output and "has 2 event(s)" in res.output
    res = runner.invoke(app, ["explain", "乙", "甲", "--edition", "2024"])
    assert res.exit_code == 0 and "E8 event:" in res.output and "事件8的原句。" in res.output
    res = runner.invoke(app, ["explain", "无此公司", "甲"])
    assert res.exit_code == 1 and "no organisation named '无此公司'" in res.output and "Traceback" not in res.output
