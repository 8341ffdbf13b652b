"""Entity resolution at report scale: blocked resolver versus a brute-force scan, in one run.

    .venv/bin/python benchmarks/bench_resolve.py [--orgs 35000] [--aliases-per-org 3] [--queries 4000]

Builds a synthetic registry of ``--orgs`` firms (default 35,000, the report's node count) with
about ``--aliases-per-org`` names each (full legal name, short name, an English name for a
third of them: ~100,000 aliases) in a fresh SQLite file, loads a :class:`etl.resolve.Resolver`
and resolves ``--queries`` names: half variants of registry names (another legal form, the
region dropped, traditional script), half new firms whose brands share characters and industry
words with registry firms. Prints, for the same queries:

- the resolver (read-only ``lookup``: alias hit, n-gram blocking, rapidfuzz on the candidates):
  time per name, share of variants resolved to their firm, share of new firms merged wrongly;
- the baseline without blocking: rapidfuzz's C++ ``process.extractOne`` of the normalised name
  over every normalised alias (the fastest exhaustive scan), its time per name and the ratio;
- writing resolution (``resolve``: new organisations, aliases, judgements, flushed) per name.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import opencc
from rapidfuzz import fuzz, process
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db import migrate  # noqa: E402
from db.models import Alias, Organisation  # noqa: E402
from db.session import make_engine, session_factory  # noqa: E402
from db.taxonomy import sync_taxonomies  # noqa: E402
from etl.resolve import Resolver, load_config, name_key  # noqa: E402

CHARS = ("安邦宝博昌晨驰创达鼎东方飞丰峰福富广国海瀚航浩和恒弘宏华辉汇佳嘉金锦京景骏凯康朗乐力立联良林霖龙隆"
         "迈美明铭南鹏平启谦融瑞睿润森盛世仕顺思泰腾天通同拓万旺威维伟文翔祥新信星兴旭轩雅扬耀亿益毅英盈永优"
         "宇远跃云泽展兆哲振正志智中众卓梓")
TRADES = ["科技", "信息技术", "智能科技", "数据科技", "软件", "网络科技", "电子", "通信", "机器人", "芯片"]
FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
PLACES = ["北京", "上海市", "深圳市", "杭州", "广州市", "成都", "南京市", "武汉", "苏州", "合肥市", "西安市", "天津"]
SYLLABLES = ["an", "bo", "chen", "da", "feng", "hua", "jin", "kai", "long", "ming", "rui", "sheng", "tai", "xin", "yu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=35_000)
    parser.add_argument("--aliases-per-org", type=int, default=3)
    parser.add_argument("--queries", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    brands: set[str] = set()
    while len(brands) < args.orgs:
        brands.add("".join(rng.sample(CHARS, 3)))
    firms = [(rng.choice(PLACES) + b + rng.choice(TRADES) + rng.choice(FORMS), b) for b in sorted(brands)]
    with tempfile.TemporaryDirectory(prefix="aimap-bench-resolve-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(engine)
        session = session_factory(engine)()
        sync_taxonomies(session)
        aliases = []
        for i, (name, brand) in enumerate(firms, start=1):
            aliases.append({"organisation_id": i, "name": name, "kind": "full"})
            aliases.append({"organisation_id": i, "name": brand + "科技", "kind": "short"})
            if args.aliases_per_org > 2:
                english = f"{''.join(rng.sample(SYLLABLES, 2)).capitalize()} Technology {i} Co., Ltd."
                aliases.append({"organisation_id": i, "name": english, "kind": "english"})
        session.execute(insert(Organisation), [{"id": i, "name": n, "kind": "firm", "origin": "registry"}
                                               for i, (n, _) in enumerate(firms, start=1)])
        session.execute(insert(Alias), aliases)
        session.commit()
        print(f"registry: {len(firms):,} organisations, {len(aliases):,} aliases")

        started = time.perf_counter()
        resolver = Resolver(session)
        print(f"resolver load: {time.perf_counter() - started:.2f} s")

        s2t = opencc.OpenCC("s2t")
        queries: list[tuple[str, int | None]] = []
        for i in rng.sample(range(len(firms)), args.queries // 2):
            name, brand = firms[i]
            variant = rng.choice([name.replace("有限公司", "股份有限公司") if "股份" not in name
                                  else name.replace("股份有限公司", "有限公司"),
                                  s2t.convert(name), name[name.index(brand):]])
            queries.append((variant, i + 1))
        while len(queries) < args.queries:
            base = firms[rng.randrange(len(firms))][1]
            brand = base[:2] + rng.choice(CHARS) if rng.random() < 0.5 else "".join(rng.sample(CHARS, 3))
            if brand not in brands:
                queries.append((rng.choice(PLACES) + brand + rng.choice(TRADES) + rng.choice(FORMS), None))
        rng.shuffle(queries)

        started = time.perf_counter()
        got = [resolver.lookup(q) for q, _ in queries]
        blocked = (time.perf_counter() - started) / len(queries)
        variants = [(g, want) for g, (_, want) in zip(got, queries, strict=True) if want is not None]
        strangers = [g for g, (_, want) in zip(got, queries, strict=True) if want is None]
        print(f"resolver (blocking): {blocked * 1000:.3f} ms per name; variants resolved "
              f"{sum(g == w for g, w in variants)}/{len(variants)}, new firms merged wrongly "
              f"{sum(g is not None for g in strangers)}/{len(strangers)}")

        keys = sorted({name_key(a["name"]).normalised for a in aliases})
        cutoff = load_config().suggest * 100
        started = time.perf_counter()
        for q, _ in queries:
            process.extractOne(name_key(q).normalised, keys, scorer=fuzz.ratio, score_cutoff=cutoff)
        brute = (time.perf_counter() - started) / len(queries)
        print(f"baseline (no blocking, rapidfuzz extractOne over {len(keys):,} normalised names): "
              f"{brute * 1000:.3f} ms per name")
        print(f"ratio baseline / resolver: {brute / blocked:.1f}x")

        new_names = [rng.choice(PLACES) + "".join(rng.sample(CHARS, 4)) + "生物科技有限公司" for _ in range(1000)]
        started = time.perf_counter()
        for n in new_names:
            resolver.resolve(n)
        session.flush()
        writing = (time.perf_counter() - started) / len(new_names)
        session.rollback()
        print(f"resolve with writes (new organisation + alias per name, SQLite): {writing * 1000:.3f} ms per name; "
              f"outcomes {dict(resolver.stats)}")
        session.close()
        engine.dispose()


if __name__ == "__main__":
    main()
