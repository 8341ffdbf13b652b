"""The recogniser and the pair model: candidates, decisions, and bad input that never crashes a batch."""

from __future__ import annotations

import json
import random

from etl.gazetteer import seed_gazetteer
from etl.offline import extract_jsonl
from etl.pairmodel import LinearModel
from etl.pairs import MAX_DOCUMENT_CHARS, extract_with_model, read_document
from etl.recognise import candidates, plausible


def test_recogniser_routes_by_script_and_filters_implausible_spans() -> None:
    zh = "宁夏电信与江北新区管委会共建智算中心"
    assert {zh[s:e] for s, e, _ in candidates(zh, 0, len(zh))} >= {"宁夏电信", "江北新区管委会"}
    en = "On Tuesday, Horizon Robotics said it signed a deal with SAIC Motor."
    assert {en[s:e] for s, e, _ in candidates(en, 0, len(en))} == {"Horizon Robotics", "SAIC Motor"}
    assert not plausible("4000PFLOPS") and not plausible("公司不存") and plausible("商汤")


def test_linear_model_probabilities() -> None:
    binary = LinearModel(("yes",), (0.0,), {"a": (2.0,)})
    assert binary.probabilities(["a"])["yes"] > 0.88 and binary.probabilities([])["yes"] == 0.5
    multi = LinearModel(("x", "y"), (0.0, 0.0), {"a": (1.0, -1.0)})
    p = multi.probabilities(["a", "unknown"])
    assert p["x"] > p["y"] and abs(sum(p.values()) - 1) < 1e-9


def test_a_suffixless_pair_is_found_and_the_rules_relations_are_kept() -> None:
    text = "5月8日，商汤与上海交通大学签署战略合作协议，双方将共建人工智能联合实验室。"
    extraction = extract_with_model(text, None, seed_gazetteer())
    pairs = {frozenset((r.provider.surface, r.receiver.surface)) for r in extraction.relations}
    assert frozenset(("商汤", "上海交通大学")) in pairs
    view = read_document(text, None, seed_gazetteer())
    assert len(view.occurrences) >= 1 and all(o.features for o in view.occurrences)


def test_talks_give_no_relation() -> None:
    text = "帆杉云与浙江大学就大数据和云计算合作进行了初步洽谈，双方表示将继续探讨合作的可能性。"
    assert not extract_with_model(text, None, seed_gazetteer()).relations


def test_bad_input_is_a_recorded_error_or_an_empty_result(tmp_path) -> None:
    rng = random.Random(7)
    binary = "".join(chr(rng.randrange(0, 0x3000)) for _ in range(5000))
    docs = [
        {"id": "empty", "text": ""},
        {"id": "huge", "text": "华为与腾讯签署合作协议。" * (MAX_DOCUMENT_CHARS // 10)},
        {"id": "binary", "text": binary},
        {"id": "mixed", "text": "NVIDIA與商湯簽署協議 and Тест Ελληνικά عربى 😀 " * 50},
    ]
    in_path, out_path = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    in_path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    errors: list[str] = []
    report = extract_jsonl(in_path, out_path, errors=errors)
    assert report.documents == 3 and report.bad_lines == 1
    assert len(errors) == 1 and ":2:" in errors[0] and "over the limit" in errors[0]
    out = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == ["empty", "binary", "mixed"]
    assert out[0]["relations"] == [] and out[0]["is_cooperation"] is False
