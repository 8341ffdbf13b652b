"""Yearly network construction and Table 1 counts on graphs small enough to check by hand."""

from __future__ import annotations

import pytest

from analysis.network import EventRow, active_in, count, data_version, yearly_network

EVENTS = [
    EventRow(1, 10, 2014, "directed", "active", None),
    EventRow(1, 10, 2016, "directed", "active", None),  # repeated pair: one edge, weight 2
    EventRow(2, 11, 2015, "mutual", "active", None),
    EventRow(11, 1, 2016, "directed", "terminated", 2017),  # gone from 2018 on
    EventRow(2, 1, 2017, "directed", "active", None),
]


def test_cumulative_counts_by_hand():
    samples = {1, 2}
    rows = [count(yearly_network(EVENTS, y), y, samples) for y in (2014, 2015, 2016, 2017, 2018)]
    assert [(r.sample_nodes, r.relation_nodes, r.nodes, r.edges) for r in rows] == [
        (1, 1, 2, 1),
        (2, 2, 4, 2),
        (2, 2, 4, 3),
        (2, 2, 4, 4),
        (2, 2, 4, 3),
    ]
    assert rows[2].avg_degree == pytest.approx(0.75)


def test_weight_first_year_and_window():
    g = yearly_network(EVENTS, 2017)
    assert g.edges[1, 10] == {"weight": 2, "first_year": 2014}
    rolling = yearly_network(EVENTS, 2017, window=2)  # 2016-2017 only
    assert set(rolling.edges) == {(1, 10), (11, 1), (2, 1)}
    assert rolling.edges[1, 10]["weight"] == 1


def test_mutual_rule_both_adds_reverse_edge():
    assert set(yearly_network(EVENTS, 2015, mutual="both").edges) == {(1, 10), (2, 11), (11, 2)}
    with pytest.raises(ValueError, match="unknown mutual"):
        yearly_network(EVENTS, 2015, mutual="sideways")


def test_termination_rule():
    ev = EVENTS[3]
    assert active_in(ev, 2017) and not active_in(ev, 2018)


def test_data_version_stable_and_sensitive():
    assert data_version(yearly_network(EVENTS, 2017)) == data_version(yearly_network(list(reversed(EVENTS)), 2017))
    assert data_version(yearly_network(EVENTS, 2017)) != data_version(yearly_network(EVENTS, 2016))
