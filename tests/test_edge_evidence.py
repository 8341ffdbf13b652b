"""Evidence for every edge: edges.csv, network.xlsx and the GEXF carry each edge's events and documents (both engines).

The world is :func:`tests.test_stats.build_world` plus documents (:func:`add_evidence`):

    d1 http://127.0.0.1/a 2022-03-01 reports e2 (A->B 2022)
    d2 http://127.0.0.1/b 2022-05-01 reports e2 and e3 (A->B 2022, repeat)
    d3 http://127.0.0.1/c (no date)   reports every other event, and e3

so the edge A->B of 2023 rests on events 2;3 with 4 mentions, documents dated 2022-03-01 ..
2022-05-01, first document /a, technology categories of e2 (物联网, 大数据和云计算), no domain.
"""

from __future__ import annotations

import csv
import datetime as dt

import networkx as nx
from openpyxl import load_workbook
from sqlalchemy import select

from analysis.evidence import EDGE_EVIDENCE_COLUMNS
from analysis.report import build_report
from db.models import City, Document, Mention, Organisation, TechCategory
from tests.test_stats import A, B, U, build_world

OLD_EDGE_COLUMNS = ["source_id", "source", "target_id", "target", "weight", "first_year", "kinds"]
OLD_NODE_COLUMNS = ["id", "name", "full_name", "kind", "is_sample", "province", "industry", "in_degree", "out_degree",
                    "degree"]


def add_evidence(session) -> None:
    """Documents and mentions behind the events of :func:`build_world` (module docstring); A's city 北京."""
    docs = [Document(url=f"http://127.0.0.1/{k}", canonical_url=f"http://127.0.0.1/{k}", text="t", title=f"标题{k}",
                     content_sha256=k * 64, published_on=d)
            for k, d in (("a", dt.date(2022, 3, 1)), ("b", dt.date(2022, 5, 1)), ("c", None))]
    session.add_all(docs)
    session.flush()
    a, b, c = (d.id for d in docs)
    pairs = [(2, a, "甲与乙签署供货协议。"), (2, b, "甲向乙供应芯片。"), (3, b, "乙采购甲的系统。"), (3, c, "乙再次采购甲。")]
    pairs += [(e, c, f"事件{e}的原句。") for e in (1, 4, 5, 6, 7, 8, 9)]
    session.add_all([Mention(event_id=e, document_id=d, sentence=text, extractor_version="pairs-1.1+test",
                             confidence=0.9) for e, d, text in pairs])
    city = session.scalar(select(City.code).where(City.province_code == "11"))
    session.get(Organisation, A).city_code = city
    session.commit()


def test_edges_csv_xlsx_and_gexf_carry_each_edges_evidence(session, tmp_path):
    build_world(session)
    add_evidence(session)
    build_report(session, tmp_path, edition=2024, charts=False)
    out = tmp_path / "2024"
    rows = list(csv.reader((out / "edges.csv").open(encoding="utf-8-sig")))
    assert rows[0] == OLD_EDGE_COLUMNS + list(EDGE_EVIDENCE_COLUMNS)  # new columns appended at the end
    by_pair = {(int(r[0]), int(r[2])): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    ab = by_pair[(A, B)]
    names = dict(session.execute(select(TechCategory.code, TechCategory.name)).all())
    order = [c for c, in session.execute(select(TechCategory.code).order_by(TechCategory.sort_order))]
    tech = ";".join(names[c] for c in order if c in ("iot", "big_data_cloud"))
    assert (ab["weight"], ab["event_ids"], ab["mentions"], ab["first_document_date"], ab["last_document_date"],
            ab["first_document_url"], ab["tech_categories"], ab["application_domains"]) == (
        "2", "2;3", "4", "2022-03-01", "2022-05-01", "http://127.0.0.1/a", tech, "")
    au = by_pair[(A, U)]  # e1: one undated document
    assert (au["event_ids"], au["mentions"], au["first_document_date"], au["first_document_url"]) == (
        "1", "1", "", "http://127.0.0.1/c")
    assert au["application_domains"] != ""  # e1 has the smart-city domain

    nodes = list(csv.reader((out / "nodes.csv").open(encoding="utf-8-sig")))
    assert nodes[0] == OLD_NODE_COLUMNS + ["city"]
    city = {int(r[0]): r[-1] for r in nodes[1:]}
    assert city[A].endswith("市") and city[B] == ""

    g = nx.read_gexf(out / "gexf" / "network_2023.gexf")
    edge = g.edges[str(A), str(B)]
    assert (edge["event_ids"], edge["mentions"], edge["first_document_url"]) == ("2;3", 4, "http://127.0.0.1/a")
    assert g.nodes[str(A)]["city"] == city[A]
    viz = g.nodes[str(A)]["viz"]
    assert viz["color"]["r"] == 192 and viz["size"] > g.nodes[str(U)]["viz"]["size"]  # red sample firm, hub larger

    drawing = nx.read_gexf(out / "gexf" / "fig13_network.gexf")  # Fig. 13 for Gephi, laid out
    assert drawing.number_of_nodes() == 7 and all("position" in d["viz"] for _, d in drawing.nodes(data=True))

    wb = load_workbook(out / "network.xlsx")
    edges_sheet = wb[[n for n in wb.sheetnames if n.startswith("边")][0]]
    header = [c.value for c in edges_sheet[1]]
    assert header == OLD_EDGE_COLUMNS + list(EDGE_EVIDENCE_COLUMNS) and edges_sheet.auto_filter.ref
    values = {(r[0], r[2]): r for r in edges_sheet.iter_rows(min_row=2, values_only=True)}
    assert values[(A, B)][header.index("event_ids")] == "2;3"
