"""Growth of the demo world's network, year by year (step 3 of :mod:`demosite.world`).

:class:`Growth` extends the node table (:mod:`demosite.nodes`) with the edges, the steering
state (deficit samplers of provinces, flows and receiving industries) and the preferential
attachment pickers, and generates the events of one year in :meth:`Growth.grow`: the sample
firms joining that year, the hubs' degree quotas, the year's slots (entrants, hub edges,
triangles, generic edges, new relation nodes), their execution, repeated cooperations and
terminations. Each year draws from ``random.Random("{seed}:events:{year}")`` only.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from demosite import targets
from demosite.model import FIRST_YEAR, LAST_YEAR, MAX_YEAR, Firm
from demosite.nodes import NodeTable
from demosite.samplers import Deficit, Picker, by_year, pick_weighted
from demosite.targets import Preset


@dataclass
class Draft:
    """An event before its id is known."""

    provider: int
    receiver: int
    direction: str
    kind: str
    date: dt.date
    tech: str
    domain: str
    reporter: int
    co_reporter: int | None
    group: int | None = None
    witnesses: tuple[int, ...] = ()
    terminated_on: dt.date | None = None
    seq: int = 0
    new_edge: bool = True


#: Network parameters that may be given per year in world-model.yml.
_YEARLY = ("sample_sample_share", "hub_sample_share", "entrant_hub_share", "focal_provider_share", "closure_share",
           "repeat_share", "termination_share", "group_share", "witness_share")


class Growth(NodeTable):
    """The state of the growing network and the generation of one year (module docstring)."""

    def __init__(self, seed: int, preset: Preset, firms: Sequence[Firm]) -> None:
        super().__init__(seed, preset, firms)
        # edges: (provider, receiver) -> number of active events
        self.edges: dict[tuple[int, int], int] = {}
        self.edge_list: list[tuple[int, int]] = []
        self.active_samples = 0
        self.active_relations = 0
        self.entered: list[bool] = [False] * self.F
        self.dropouts: set[int] = set()
        self.pending_end: dict[int, list[Draft]] = {}
        # steering
        p, q, t = targets.flow_targets(self.provinces)
        self.p_share, self.q_share, self.t_share = p, q, t
        self.row_counts = [0] * len(self.provinces)
        self.cell_counts = [[0] * len(self.provinces) for _ in self.provinces]
        self.n_flows = 0
        self.recv = Deficit(targets.receiver_division_targets(FIRST_YEAR))
        # preferential attachment
        self.sample_by_prov = [Picker(self.net["pa_offset_sample"]) for _ in self.provinces]
        self.sample_all = Picker(self.net["pa_offset_sample"])
        self.rel_by_prov = [Picker(self.net["pa_offset_relation"]) for _ in self.provinces]
        self.targets = targets.table1_targets(preset.firms, preset.relation_nodes, preset.edges, MAX_YEAR)
        edges_final = self.targets[LAST_YEAR][2]
        scale = edges_final / targets.report()["network"]["table1"][LAST_YEAR][3]
        if preset.hubs:
            for i, f in enumerate(firms):
                if f.hub:
                    spec = next(h for h in targets.load_yaml("organisations.yml")["sample_hubs"]
                                if h["name"] == f.name)
                    self._add_hub(i, spec["degree"], scale, f.founded_on.year)
            for s in self.vocab.real:
                if s.hub_degree is not None:
                    node = self._new_node_from_spec(s, FIRST_YEAR, hub=True)
                    self._add_hub(node, s.hub_degree, scale, FIRST_YEAR - 1)
        self.events: list[Draft] = []
        self.group_seq = 0
        self.year_net: dict[str, Any] = {}

    # ---------------------------------------------------------------- edges
    def _activate(self, node: int) -> None:
        if node < self.F:
            self.active_samples += 1
            self.entered[node] = True
            if not self.is_hub[node]:
                self.sample_by_prov[self.prov[node]].nodes.append(node)
                self.sample_all.nodes.append(node)
        else:
            self.active_relations += 1
            if not self.is_hub[node]:
                self.rel_by_prov[self.prov[node]].nodes.append(node)

    def _add_edge(self, u: int, v: int) -> bool:
        """Count one more active event on u -> v; True when the edge is new."""
        key = (u, v)
        count = self.edges.get(key, 0)
        self.edges[key] = count + 1
        if count:
            return False
        self.edge_list.append(key)
        for node in (u, v):
            if self.deg[node] == 0:
                self._activate(node)
            self.deg[node] += 1
            if not self.is_hub[node]:
                if node < self.F:
                    self.sample_by_prov[self.prov[node]].reps.append(node)
                    self.sample_all.reps.append(node)
                else:
                    self.rel_by_prov[self.prov[node]].reps.append(node)
        self.nbrs[u].append(v)
        self.nbrs[v].append(u)
        if u in self.hub_of:
            self.hub_of[u].cur_out += 1
        if v in self.hub_of:
            self.hub_of[v].cur_in += 1
        a, b = self.prov[u], self.prov[v]
        self.row_counts[a] += 1
        self.cell_counts[a][b] += 1
        self.n_flows += 1
        if self.div[v] in self.recv.index:
            self.recv.add(self.div[v])
        return True

    def _remove_event(self, u: int, v: int) -> None:
        key = (u, v)
        count = self.edges[key] - 1
        if count:
            self.edges[key] = count
            return
        del self.edges[key]
        self.nbrs[u].remove(v)
        self.nbrs[v].remove(u)
        if u in self.hub_of:
            self.hub_of[u].cur_out -= 1
        if v in self.hub_of:
            self.hub_of[v].cur_in -= 1
        for node in (u, v):
            self.deg[node] -= 1
            if self.deg[node] == 0:
                if node < self.F:
                    self.active_samples -= 1
                else:
                    self.active_relations -= 1

    def _rebuild_pickers(self) -> None:
        for pickers in (self.sample_by_prov, self.rel_by_prov):
            for pk in pickers:
                pk.nodes.clear()
                pk.reps.clear()
        self.sample_all.nodes.clear()
        self.sample_all.reps.clear()
        for node, d in enumerate(self.deg):
            if d <= 0 or self.is_hub[node]:
                continue
            if node < self.F:
                pk = self.sample_by_prov[self.prov[node]]
                self.sample_all.nodes.append(node)
                self.sample_all.reps.extend([node] * d)
            else:  # relation nodes
                pk = self.rel_by_prov[self.prov[node]]
            pk.nodes.append(node)
            pk.reps.extend([node] * d)
        self.edge_list = [e for e in self.edge_list if e in self.edges]

    # ---------------------------------------------------------------- provinces
    def _row_province(self, rng: random.Random, ok: Sequence[bool]) -> int:
        n1 = self.n_flows + 1
        w = [max(0.0, p * n1 - c) if good else 0.0
             for p, c, good in zip(self.p_share, self.row_counts, ok, strict=True)]
        if sum(w) <= 0:
            w = [p if good else 0.0 for p, good in zip(self.p_share, ok, strict=True)]
        return pick_weighted(rng, range(len(w)), w)

    def _other_province(self, rng: random.Random, fixed: int, fixed_is_provider: bool, ok: Sequence[bool]) -> int:
        n1 = self.n_flows + 1
        k = len(self.provinces)
        if fixed_is_provider:
            targets = self.t_share[fixed]
            counts = self.cell_counts[fixed]
        else:
            targets = [self.t_share[a][fixed] for a in range(k)]
            counts = [self.cell_counts[a][fixed] for a in range(k)]
        w = [max(0.0, t * n1 - c) if good else 0.0 for t, c, good in zip(targets, counts, ok, strict=True)]
        if sum(w) <= 0:
            w = [t if good else 0.0 for t, good in zip(targets, ok, strict=True)]
        if sum(w) <= 0:
            return fixed
        return pick_weighted(rng, range(k), w)

    # ---------------------------------------------------------------- choosing ends
    def _pick_sample(self, rng: random.Random, province: int | None, exclude: int) -> int | None:
        picker = self.sample_all if province is None else self.sample_by_prov[province]
        for _ in range(6):
            node = picker.pick(rng)
            if node is None:
                return None
            if node != exclude:
                return node
        return None

    def _pick_relation(self, rng: random.Random, province: int, role: str) -> int | None:
        """An existing relation node of ``province`` for ``role`` ("provider"/"receiver") by PA."""
        propensity = self.net["provider_propensity"]
        picker = self.rel_by_prov[province]
        recv = self.recv
        node = None
        for _ in range(5):
            node = picker.pick(rng)
            if node is None:
                return None
            pr = propensity.get(self.kind[node], 0.5)
            accept = pr if role == "provider" else 1 - pr
            if role == "receiver" and recv.n:  # lean towards industries the receiving side lacks
                i = recv.index.get(self.div[node])
                if i is not None and recv.counts[i]:
                    accept *= min(1.0, recv.shares[i] * recv.n / recv.counts[i])
            if rng.random() < accept:
                return node
        return node

    def _new_receiver(self, rng: random.Random, province: int, year: int) -> int | None:
        """A new relation node that receives: industry drawn towards the receiving-side targets."""
        prov = self.provinces[province]
        w = self.recv.weights()
        keys = self.recv.keys
        options = [(k, x) for k, x in zip(keys, w, strict=True) if x > 0 and self._can_make(k, prov)]
        if not options:
            options = [(k, s) for k, s in zip(keys, self.recv.shares, strict=True) if self._can_make(k, prov)]
        if not options:
            return None
        division = pick_weighted(rng, [k for k, _ in options], [x for _, x in options])
        return self._new_relation(rng, division, prov, year)

    # ---------------------------------------------------------------- one year
    def grow(self, year: int) -> list[Draft]:
        """Generate the events of ``year``; return them (also kept in ``self.events``)."""
        rng = random.Random(f"{self.seed}:events:{year}")
        net = {k: (by_year(v, year) if k in _YEARLY else v) for k, v in self.net.items()}
        self.year_net = net
        for d in self.pending_end.pop(year - 1, []):
            self._remove_event(d.provider, d.receiver)
        self._rebuild_pickers()
        self.recv.set_shares(targets.receiver_division_targets(year))
        s_target, r_target, e_target = self.targets[year]
        drafts: list[Draft] = []
        tech = Deficit(targets.category_targets("tech", year))
        dom = Deficit(targets.category_targets("domains", year))

        entrants = self._entrants(rng, year, s_target)
        quota = self._hub_quotas(year, e_target)
        need_e = e_target - len(self.edges)
        joining_relation_hubs = sum(1 for h in self.hubs if h.node >= self.F and self.deg[h.node] == 0
                                    and sum(quota.get(h.node, (0, 0))) > 0)
        need_r = r_target - self.active_relations - joining_relation_hubs
        slots = self._slots(rng, entrants, quota, need_e, need_r)

        # execute the slots (from the end)
        while slots:
            slot = slots.pop()
            self._run_slot(rng, year, slot, slots, drafts, tech, dom)
        self._repeats(rng, year, drafts, tech, dom)
        self._terminations(rng, year, s_target, drafts)
        for d in drafts:
            if d.terminated_on is not None:
                self.pending_end.setdefault(year, []).append(d)
        self.events.extend(drafts)
        return drafts

    def _entrants(self, rng: random.Random, year: int, s_target: int) -> list[int]:
        """The sample firms joining in ``year``: dropped-out firms first, then never-seen ones."""
        hubs_joining = [h for h in self.hubs if h.node < self.F and not self.entered[h.node] and year >= h.entry_year]
        need_s = s_target - self.active_samples - len(hubs_joining)
        final_cohort = year >= LAST_YEAR
        pool = [i for i in range(self.F) if not self.entered[i] and self.deg[i] == 0 and not self.is_hub[i]
                and (final_cohort or (self.firms[i].previous_edition and i not in self.dropouts))
                and self.firms[i].founded_on <= dt.date(year, 11, 30)]
        if year < LAST_YEAR:
            pool = [i for i in pool if self.firms[i].founded_on.year < year]
        # dropped-out firms come back (year >= cohort year) before never-seen ones
        rejoin = [i for i in range(self.F) if self.entered[i] and self.deg[i] == 0 and not self.is_hub[i]
                  and (final_cohort or i not in self.dropouts)]
        entrants: list[int] = []
        if need_s > 0:
            rejoined = set(rejoin)
            fresh = [i for i in pool if i not in rejoined]
            rng.shuffle(fresh)
            entrants = (rejoin + fresh)[:need_s]
        return entrants

    def _hub_quotas(self, year: int, e_target: int) -> dict[int, list[int]]:
        """Hub node -> [in, out] edges still due in ``year`` (in proportion to the year's edge target)."""
        e_final = self.targets[LAST_YEAR][2]
        quota: dict[int, list[int]] = {}
        for h in self.hubs:
            if year < h.entry_year:
                continue
            frac = e_target / e_final
            want_in = max(0, round(h.target_in * frac) - h.cur_in)
            want_out = max(0, round(h.target_out * frac) - h.cur_out)
            if self.deg[h.node] == 0 and want_in + want_out == 0:  # a hub joins with one edge at least
                want_out = 1
            quota[h.node] = [want_in, want_out]
        return quota

    def _slots(self, rng: random.Random, entrants: list[int], quota: dict[int, list[int]], need_e: int,
               need_r: int) -> list[list[Any]]:
        """The year's slots [kind, focal sample or hub, role, other type, new relation node], in execution order.

        Executed from the end, in random order, but triangles last (after the year's other
        edges exist) and, when no sample firm is active yet, a joining firm first.
        """
        net = self.year_net
        slots = self._entrant_and_hub_slots(rng, entrants, quota)
        extra = need_e - len(slots)
        if extra < 0:  # hub quotas exceed the year's new edges (small presets): keep a random subset
            keep = sorted(rng.sample(range(len(slots)), need_e)) if need_e > 0 else []
            entrant_idx = [i for i, s in enumerate(slots) if s[0].startswith("entrant")]
            keep = sorted(set(keep) | set(entrant_idx))
            slots = [slots[i] for i in keep]
            extra = 0
        closure = net["closure_share"]
        for _ in range(extra):
            r = rng.random()
            if r < closure:
                slots.append(["closure", None, None, None, False])
            else:
                other = "sample" if rng.random() < net["sample_sample_share"] else "rel"
                role = "provider" if rng.random() < net["focal_provider_share"] else "receiver"
                slots.append(["generic", None, role, other, False])
        rel_slots = [i for i, s in enumerate(slots) if s[3] == "rel"]
        if need_r > len(rel_slots):
            convertible = [i for i, s in enumerate(slots) if s[0] in ("generic", "closure") and s[3] != "rel"]
            rng.shuffle(convertible)
            for i in convertible[: need_r - len(rel_slots)]:
                role = "provider" if rng.random() < net["focal_provider_share"] else "receiver"
                slots[i] = ["generic", None, role, "rel", False]
            rel_slots = [i for i, s in enumerate(slots) if s[3] == "rel"]
        for i in rng.sample(rel_slots, min(max(0, need_r), len(rel_slots))):
            slots[i][4] = True
        rng.shuffle(slots)
        slots = [s for s in slots if s[0] == "closure"] + [s for s in slots if s[0] != "closure"]
        if not self.sample_all.nodes:
            first = next((i for i in range(len(slots) - 1, -1, -1) if slots[i][0].startswith("entrant")), None)
            if first is not None:
                slots.append(slots.pop(first))
        return slots

    def _entrant_and_hub_slots(self, rng: random.Random, entrants: list[int],
                               quota: dict[int, list[int]]) -> list[list[Any]]:
        """One slot per joining sample firm (often with a sample hub) and per hub edge still due."""
        net = self.year_net
        slots: list[list[Any]] = []
        sample_hubs = [h.node for h in self.hubs if h.node < self.F and h.node in quota]
        for e in entrants:
            if sample_hubs and rng.random() < net["entrant_hub_share"]:
                weights = [sum(quota[h]) for h in sample_hubs]
                if sum(weights) > 0:
                    h = pick_weighted(rng, sample_hubs, weights)
                    hub_provides = rng.random() * sum(quota[h]) < quota[h][1]
                    quota[h][1 if hub_provides else 0] -= 1
                    slots.append(["entrant_hub", e, "receiver" if hub_provides else "provider", h, False])
                    continue
            other = "sample" if rng.random() < net["sample_sample_share"] else "rel"
            role = "provider" if rng.random() < net["focal_provider_share"] else "receiver"
            slots.append(["entrant", e, role, other, False])
        for h in self.hubs:
            if h.node not in quota:
                continue
            q_in, q_out = quota[h.node]
            is_sample = h.node < self.F
            for role, count in (("receiver", q_in), ("provider", q_out)):
                for _ in range(count):
                    if is_sample:
                        other = "sample" if rng.random() < net["hub_sample_share"] else "rel"
                        slots.append(["hub", h.node, role, other, False])
                    else:
                        slots.append(["rhub", h.node, role, "sample", False])
        return slots

    def _repeats(self, rng: random.Random, year: int, drafts: list[Draft], tech: Deficit, dom: Deficit) -> None:
        """Repeated cooperations of existing pairs, and at least one event a year."""
        net = self.year_net
        n_new = len(drafts)
        n_rep = round(n_new * net["repeat_share"] / (1 - net["repeat_share"]))
        if n_new + n_rep == 0 and self.edge_list:
            n_rep = 1
        for _ in range(n_rep):
            if not self.edge_list:
                break
            u, v = self.edge_list[rng.randrange(len(self.edge_list))]
            if (u, v) not in self.edges:
                continue
            self._event(rng, year, u, v, u if u < self.F else v, drafts, tech, dom, new_edge=False, repeat=True)

    def _terminations(self, rng: random.Random, year: int, s_target: int, drafts: list[Draft]) -> None:
        """Terminations: a few % within the year; firms planned to drop out of the next year."""
        next_s = self.targets.get(year + 1, (s_target,))[0]
        drop = max(0, s_target - next_s) if year + 1 < LAST_YEAR + 1 else 0
        if drop:
            single = [d for d in drafts if d.new_edge and d.group is None and d.date <= dt.date(year, 11, 30)]
            counts: dict[int, int] = {}
            for d in drafts:
                for node in (d.provider, d.receiver):
                    counts[node] = counts.get(node, 0) + 1
            chosen: list[Draft] = []
            for d in single:
                s = d.reporter
                if (len(chosen) < drop and not self.is_hub[s] and self.deg[s] == 1 and counts.get(s) == 1
                        and (d.co_reporter is None)):
                    chosen.append(d)
                    self.dropouts.add(s)
            for d in chosen:
                d.terminated_on = d.date + dt.timedelta(days=rng.randint(15, (dt.date(year, 12, 31) - d.date).days))
        for d in drafts:
            if d.terminated_on is None and d.group is None and d.date <= dt.date(year, 11, 30):
                if rng.random() < self.year_net["termination_share"]:
                    d.terminated_on = d.date + dt.timedelta(days=rng.randint(15, (dt.date(year, 12, 31) - d.date).days))

    def _run_slot(self, rng: random.Random, year: int, slot: list[Any], slots: list[list[Any]],
                  drafts: list[Draft], tech: Deficit, dom: Deficit) -> None:
        kind, focal, role, other, new = slot
        for attempt in range(10):
            if attempt >= 7 and kind in ("generic", "entrant", "hub"):
                other, new = "rel", True  # a fresh node always gives a fresh pair
            if kind == "closure":
                pair = self._closure(rng)
                if pair is None:
                    kind, role, other = "generic", ("provider" if rng.random() < 0.6 else "receiver"), "rel"
                    continue
                u, v, f = pair
                self._add_edge(u, v)
                self._event(rng, year, u, v, f, drafts, tech, dom)
                return
            if kind == "entrant_hub":
                hub = other
                u, v = (focal, hub) if role == "provider" else (hub, focal)
                if (u, v) in self.edges:
                    kind, other = "entrant", "rel"
                    continue
                self._add_edge(u, v)
                self._event(rng, year, u, v, focal, drafts, tech, dom)
                return
            if kind == "rhub":
                hub = focal
                hp = self.prov[hub]
                ok = [bool(pk.nodes) for pk in self.sample_by_prov]
                if not any(ok):
                    return
                sp = self._other_province(rng, hp, role == "provider", ok)
                s = self._pick_sample(rng, sp, -1)
                if s is None:
                    continue
                u, v = (hub, s) if role == "provider" else (s, hub)
                if (u, v) in self.edges:
                    continue
                self._add_edge(u, v)
                self._event(rng, year, u, v, s, drafts, tech, dom)
                return
            # a sample focal (entrant, hub, generic): choose its province and the other end's
            n_prov = len(self.provinces)
            if kind == "generic":
                ok_s = [bool(pk.nodes) for pk in self.sample_by_prov]
                if not any(ok_s):
                    return
                if role == "provider":
                    fp = self._row_province(rng, ok_s)
                else:
                    ok_any = [True] * n_prov
                    rp = self._row_province(rng, ok_any)  # provider province of a relation provider
                    fp = self._other_province(rng, rp, True, ok_s)
                focal_node = self._pick_sample(rng, fp, -1)
                if focal_node is None:
                    continue
            else:
                focal_node = focal
                fp = self.prov[focal_node]
            if other == "sample":
                ok_s = [bool(pk.nodes) for pk in self.sample_by_prov]
                if not any(ok_s):
                    other = "rel"
                    continue
                op = self._other_province(rng, fp, role == "provider", ok_s)
                o = self._pick_sample(rng, op, focal_node)
                if o is None:
                    other = "rel"
                    continue
            else:
                other_role = "receiver" if role == "provider" else "provider"
                if new:
                    op = self._other_province(rng, fp, role == "provider", [True] * n_prov)
                    o = (self._new_receiver(rng, op, year) if other_role == "receiver"
                         else self._new_provider(rng, op, year))
                    if o is None:
                        continue
                else:
                    ok_r = [bool(pk.nodes) for pk in self.rel_by_prov]
                    if not any(ok_r):
                        new = True
                        continue
                    op = self._other_province(rng, fp, role == "provider", ok_r)
                    o = self._pick_relation(rng, op, other_role)
                    if o is None:
                        continue
            u, v = (focal_node, o) if role == "provider" else (o, focal_node)
            if (u, v) in self.edges or u == v:
                continue
            self._add_edge(u, v)
            group = None
            if kind == "generic" and role == "provider" and rng.random() < self.year_net["group_share"]:
                group = self._group(rng, year, focal_node, o, slots, drafts, tech, dom)
                if group is not None:
                    return
            self._event(rng, year, u, v, focal_node, drafts, tech, dom)
            return

    def _closure(self, rng: random.Random) -> tuple[int, int, int] | None:
        """A new edge closing a triangle: f - x - y, with f a sample firm drawn uniformly."""
        nodes = self.sample_all.nodes
        for _ in range(6):
            if not nodes:
                return None
            f = nodes[rng.randrange(len(nodes))]  # uniform: triangles around small firms
            if not self.nbrs[f]:
                continue
            x = self.nbrs[f][rng.randrange(len(self.nbrs[f]))]
            if not self.nbrs[x]:
                continue
            y = self.nbrs[x][rng.randrange(len(self.nbrs[x]))]
            if y == f or self.is_hub[y] or (f, y) in self.edges or (y, f) in self.edges:
                continue
            if y < self.F:
                provider_first = rng.random() < 0.5
            else:
                provider_first = rng.random() >= self.net["provider_propensity"].get(self.kind[y], 0.5)
            return (f, y, f) if provider_first else (y, f, f)
        return None

    def _group(self, rng: random.Random, year: int, focal: int, first: int, slots: list[list[Any]],
               drafts: list[Draft], tech: Deficit, dom: Deficit) -> int | None:
        """A multi-party signing: ``focal`` signs with ``first`` and more parties (mutual events)."""
        sizes = self.net["group_sizes"]
        size = int(pick_weighted(rng, list(sizes), list(sizes.values())))
        others = [first]
        for _ in range(size - 2):
            idx = next((i for i in range(len(slots) - 1, -1, -1) if slots[i][0] == "generic"), None)
            if idx is None:
                break
            spare = slots.pop(idx)
            o = None
            for _try in range(4):
                fp = self.prov[focal]
                if spare[4] or spare[3] == "rel":
                    op = self._other_province(rng, fp, True, [True] * len(self.provinces))
                    if spare[4]:
                        o = self._new_receiver(rng, op, year)
                    else:
                        o = self._pick_relation(rng, op, "receiver")
                else:
                    o = self._pick_sample(rng, None, focal)
                if o is not None and o not in others and (focal, o) not in self.edges and o != focal:
                    break
                o = None
            if o is None:
                slots.append(spare)
                break
            self._add_edge(focal, o)
            others.append(o)
        if len(others) < 2:
            return None
        self.group_seq += 1
        group = self.group_seq
        gk = self.model["group_kinds"]
        kind = pick_weighted(rng, list(gk), list(gk.values()))
        date = self._date(rng, year, [focal, *others])
        witnesses = self._witnesses(rng, focal, others, force=rng.random() < 0.5)
        for o in others:
            self._event(rng, year, focal, o, focal, drafts, tech, dom, kind=kind, direction="mutual", date=date,
                        group=group, witnesses=witnesses)
        return group

    def _witnesses(self, rng: random.Random, focal: int, parties: Sequence[int], force: bool = False) -> tuple[int, ...]:
        if not force and rng.random() >= self.year_net["witness_share"]:
            return ()
        pool = self.witness_pool.get(self.prov[focal]) or [n for ns in self.witness_pool.values() for n in ns]
        pool = [n for n in pool if n not in parties and n != focal]
        if not pool:
            return ()
        k = 1 if rng.random() < 0.7 else 2
        chosen: list[int] = []
        for _ in range(k):
            w = pool[rng.randrange(len(pool))]
            if w not in chosen:
                chosen.append(w)
        return tuple(chosen)

    def _date(self, rng: random.Random, year: int, nodes: Iterable[int]) -> dt.date:
        start = dt.date(year, 1, 1)
        for node in nodes:
            if node < self.F:
                earliest = self.firms[node].founded_on + dt.timedelta(days=7)
                if earliest > start:
                    start = earliest
        end = dt.date(year, 12, 31)
        if start > end:
            start = end
        return start + dt.timedelta(days=rng.randint(0, (end - start).days))

    def _event(self, rng: random.Random, year: int, u: int, v: int, focal: int, drafts: list[Draft],
               tech: Deficit, dom: Deficit, *, kind: str | None = None, direction: str | None = None,
               date: dt.date | None = None, group: int | None = None, witnesses: tuple[int, ...] = (),
               new_edge: bool = True, repeat: bool = False) -> None:
        """Record an event u -> v reported by ``focal`` (a sample firm party)."""
        F = self.F
        other = v if focal == u else u
        other_kind = "sample" if other < F else self.kind[other]
        role = "provider" if focal == u else "receiver"
        if kind is None:
            table = self.model["kind_weights"][other_kind][role]
            kind = pick_weighted(rng, list(table), list(table.values()))
        if direction is None:
            if kind in self.model["mutual_kinds"]:
                direction = "mutual"
            elif kind == "strategic_agreement" and role == "provider":
                direction = "mutual" if rng.random() < self.model["strategic_mutual_share"] else "directed"
            else:
                direction = "directed"
            if direction == "mutual" and role != "provider":
                direction = "directed"
                kind = "strategic_agreement"
        reporter = focal
        co = other if other < F else None
        if direction == "mutual":
            reporter, co = u, (v if v < F else None)
        if date is None:
            date = self._date(rng, year, (u, v))
        lean_node = v if v >= F else (u if u >= F else v)
        dom_bias = self._lean("domain_lean", lean_node)
        tech_bias = self._lean("tech_lean", lean_node)
        signing = direction == "mutual" and kind in ("strategic_agreement", "joint_lab", "alliance")
        if not witnesses and group is None and signing:
            witnesses = self._witnesses(rng, focal, (u, v))
        drafts.append(
            Draft(
                provider=u,
                receiver=v,
                direction=direction,
                kind=kind,
                date=date,
                tech=tech.draw(rng, tech_bias),
                domain=dom.draw(rng, dom_bias),
                reporter=reporter,
                co_reporter=co,
                group=group,
                witnesses=witnesses,
                seq=len(self.events) + len(drafts),
                new_edge=new_edge,
            )
        )
        if repeat:
            self.edges[(u, v)] += 1

    def _lean(self, table_name: str, node: int) -> dict[str, float]:
        table = self.model[table_name]
        bias: dict[str, float] = {}
        for key, value in ((self.kind[node], "kind"), (self.div[node], "division")):
            for cat, mult in (table.get(value, {}).get(key) or {}).items():
                bias[cat] = bias.get(cat, 1.0) * mult
        return bias
