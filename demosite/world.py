"""The world model of the demo public web: firms, partners, cooperation events, company news.

:func:`build_world` generates a :class:`World` from a seed and a preset. It knows nothing
about HTML; :mod:`demosite.render` turns a world into pages and ground-truth files.

Generation, in order, all drawn from one ``random.Random(seed)``:

1. sample firms (the firms whose newsrooms are crawled): fictitious names with legal
   suffixes, USCC with a valid GB 32100-2015 check character, listing data, financials;
2. partners (relation nodes): well-known real names (universities, institutes, telecom
   operators, banks, a hospital, city governments, foreign suppliers ...) plus generated
   firm names;
3. cooperation events 2014-2023: the yearly count grows geometrically, and the parties are
   chosen by preferential attachment (a node's chance grows with its degree), so a few hubs
   emerge. Every event involves at least one sample firm; some are between two sample firms
   and are then reported in both newsrooms;
4. plain company news (product launches, awards, milestones) naming no other organisation,
   about 15% of all articles, given first to the newsrooms with the fewest articles.

Technology categories and application domains are drawn with weights following the
report's shares (大数据和云计算 ~43%, 物联网 ~12%, 5G/6G ~8%; 企业智能管理, 智慧城市 and
智能制造 ~11% each); partners with an obvious sector (a bank, a hospital, a car maker)
lean towards their domain.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from etl import identifiers

# --------------------------------------------------------------------------------------
# Taxonomies (names identical to db/data/tech_categories.yml and application_domains.yml)
# --------------------------------------------------------------------------------------

#: The report's 24 technology categories with draw weights (percent, roughly the report's shares).
TECH_WEIGHTS: dict[str, float] = {
    "大数据和云计算": 43,
    "物联网": 12,
    "5G/6G": 8,
    "智能机器人": 3,
    "智能芯片": 3,
    "自动驾驶": 3,
    "虚拟/增强现实": 2,
    "计算机视觉": 2,
    "光电技术": 1.5,
    "智能推荐": 2,
    "语音识别": 2,
    "区块链": 2,
    "大模型": 2,
    "空间技术": 1,
    "生物识别": 1.5,
    "网络安全": 2.5,
    "自然语言处理": 2,
    "算力网络": 2,
    "人机交互": 1,
    "操作系统": 1,
    "AI框架": 1,
    "知识图谱": 1,
    "多模态": 1,
    "具身智能": 0.5,
}
TECH_CATEGORIES: tuple[str, ...] = tuple(TECH_WEIGHTS)

#: First year a technology category can appear in an event (others: any year).
TECH_SINCE: dict[str, int] = {
    "5G/6G": 2017,
    "区块链": 2016,
    "大模型": 2020,
    "算力网络": 2020,
    "多模态": 2020,
    "具身智能": 2022,
    "AI框架": 2016,
}

#: The report's 20 application domains with draw weights (percent).
DOMAIN_WEIGHTS: dict[str, float] = {
    "企业智能管理": 11,
    "智慧城市": 11,
    "智能制造": 11,
    "智能网联汽车": 5,
    "智能硬件": 5,
    "智能营销与新零售": 5,
    "智能金融": 6,
    "智能医疗": 5,
    "新媒体和数字内容": 4,
    "智能交通": 4,
    "智能教育": 4,
    "网络空间安全": 3,
    "智能能源": 4,
    "智慧政务": 4,
    "智能物流": 3,
    "智能家居": 3,
    "智慧文旅": 2,
    "智能安防": 3,
    "智能农业": 2,
    "AI for Science": 1,
}
APPLICATION_DOMAINS: tuple[str, ...] = tuple(DOMAIN_WEIGHTS)

TECH_LAYERS: tuple[str, ...] = ("基础层", "技术层", "应用层")
PARTNER_KINDS: tuple[str, ...] = (
    "university",
    "research_institute",
    "government",
    "telecom",
    "foreign_firm",
    "firm",
    "bank",
    "hospital",
    "industry_body",
)
EVENT_KINDS: tuple[str, ...] = ("strategic_agreement", "joint_lab", "supply", "procurement")
DIRECTIONS: tuple[str, ...] = ("directed", "mutual")
NEWS_KINDS: tuple[str, ...] = ("product_launch", "award", "milestone")
FIRST_YEAR = 2014
LAST_YEAR = 2023
FISCAL_YEAR = 2022

# --------------------------------------------------------------------------------------
# Identifiers: USCC (GB 32100-2015) and A-share stock codes
# --------------------------------------------------------------------------------------

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997, the 9-char organisation code


def _org_code(rng: random.Random) -> str:
    """A 9-character organisation code (8 characters + GB 11714 check digit)."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    if rng.random() < 0.3:  # newer codes issued with the USCC start with "MA"
        body = "MA" + body[2:]
    total = sum(w * int(c, 36) for w, c in zip(_ORG_CODE_WEIGHTS, body, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(adcode: str, rng: random.Random) -> str:
    """A USCC for a company (``91``) registered at ``adcode`` (6 digits), check char included."""
    if not re.fullmatch(r"\d{6}", adcode):
        raise ValueError(f"adcode must be 6 digits: {adcode!r}")
    return identifiers.make_uscc("9", "1", adcode, _org_code(rng))


#: Stock code prefixes the generator uses, by exchange.
STOCK_PREFIXES: dict[str, tuple[str, ...]] = {"SSE": ("600", "688"), "SZSE": ("000", "300")}


def is_valid_stock_code(code: str, exchange: str) -> bool:
    """True when ``code`` is a valid code of ``exchange`` (rules in :mod:`etl.identifiers`)."""
    return identifiers.validate_stock_code(exchange, code) is None


# --------------------------------------------------------------------------------------
# Geography: cities with a district adcode (the registration authority in the USCC)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    province: str
    city: str
    adcodes: tuple[str, ...]  # district-level codes (registration authority)
    name_prefix: str  # how the city appears at the head of a company name
    weight: float


_PLACES: tuple[_Place, ...] = (
    _Place("北京市", "北京市", ("110108", "110105", "110106"), "北京", 30),
    _Place("广东省", "深圳市", ("440305", "440304", "440306"), "深圳市", 18),
    _Place("上海市", "上海市", ("310115", "310104", "310112"), "上海", 17),
    _Place("浙江省", "杭州市", ("330106", "330108", "330110"), "杭州", 12),
    _Place("江苏省", "南京市", ("320115", "320106"), "南京", 4),
    _Place("江苏省", "苏州市", ("320505", "320506"), "苏州", 4),
    _Place("广东省", "广州市", ("440106", "440112"), "广州", 4),
    _Place("安徽省", "合肥市", ("340104", "340111"), "合肥", 3),
    _Place("四川省", "成都市", ("510107", "510104"), "成都", 3),
    _Place("湖北省", "武汉市", ("420111", "420106"), "武汉", 3),
    _Place("天津市", "天津市", ("120116",), "天津", 2),
)

# --------------------------------------------------------------------------------------
# Names. Sample-firm and partner-firm syllables are disjoint so that no generated name is a
# substring of another party's name (checked in build_world).
# --------------------------------------------------------------------------------------

_SAMPLE_FIRST = (
    ("星", "xing"),
    ("澜", "lan"),
    ("瀚", "han"),
    ("极", "ji"),
    ("灵", "ling"),
    ("昆", "kun"),
    ("启", "qi"),
    ("睿", "rui"),
    ("擎", "qing"),
    ("曜", "yao"),
    ("觅", "mi"),
    ("墨", "mo"),
    ("岚", "lan"),
    ("晨", "chen"),
    ("朗", "lang"),
    ("翼", "yi"),
    ("凌", "ling"),
    ("驰", "chi"),
)
_SAMPLE_SECOND = (
    ("云", "yun"),
    ("思", "si"),
    ("象", "xiang"),
    ("渊", "yuan"),
    ("帆", "fan"),
    ("维", "wei"),
    ("芯", "xin"),
    ("境", "jing"),
    ("析", "xi"),
    ("澄", "cheng"),
    ("跃", "yue"),
    ("弈", "yi"),
    ("枢", "shu"),
    ("川", "chuan"),
    ("穹", "qiong"),
    ("衍", "yan"),
)

#: descriptor -> (pinyin, English word, GB/T 4754 division, preferred tech layer)
_DESCRIPTORS: dict[str, tuple[str, str, str, str]] = {
    "智能": ("zhineng", "Intelligence", "65", "技术层"),
    "科技": ("keji", "Technology", "65", "应用层"),
    "数据": ("shuju", "Data", "64", "应用层"),
    "视觉": ("shijue", "Vision", "65", "技术层"),
    "智算": ("zhisuan", "Computing", "65", "基础层"),
    "机器人": ("jiqiren", "Robotics", "34", "应用层"),
    "微电子": ("weidianzi", "Microelectronics", "39", "基础层"),
    "信息": ("xinxi", "Information", "65", "应用层"),
}

_PARTNER_FIRST = (
    "恒",
    "鼎",
    "宏",
    "嘉",
    "骏",
    "隆",
    "盛",
    "祥",
    "鑫",
    "达",
    "泓",
    "永",
)
_PARTNER_SECOND = (
    "远",
    "丰",
    "通",
    "源",
    "昌",
    "和",
    "兴",
    "峰",
    "润",
    "安",
    "邦",
    "华",
)
#: industry word of a generated partner firm -> the application domain it leans to
_PARTNER_INDUSTRIES: dict[str, str] = {
    "精密制造": "智能制造",
    "物流": "智能物流",
    "医疗器械": "智能医疗",
    "新能源": "智能能源",
    "文化传媒": "新媒体和数字内容",
    "汽车零部件": "智能网联汽车",
    "商业连锁": "智能营销与新零售",
    "农业发展": "智能农业",
    "文旅发展": "智慧文旅",
    "家电": "智能家居",
    "教育科技": "智能教育",
    "供应链管理": "企业智能管理",
}


@dataclass(frozen=True)
class _KnownPartner:
    name: str
    kind: str
    province: str
    city: str
    domains: tuple[str, ...] = ()  # application domains the partner leans to
    core: bool = False  # always part of the world (the tiny preset holds exactly these)
    hub: bool = False  # starts with a higher attractiveness (becomes a hub more easily)


_KNOWN_PARTNERS: tuple[_KnownPartner, ...] = (
    _KnownPartner("清华大学", "university", "北京市", "北京市", core=True, hub=True),
    _KnownPartner("北京大学", "university", "北京市", "北京市", core=True),
    _KnownPartner("浙江大学", "university", "浙江省", "杭州市", core=True),
    _KnownPartner("中国科学院自动化研究所", "research_institute", "北京市", "北京市", core=True),
    _KnownPartner("中国信息通信研究院", "research_institute", "北京市", "北京市", core=True),
    _KnownPartner("中国移动通信集团有限公司", "telecom", "北京市", "北京市", core=True, hub=True),
    _KnownPartner("中国电信集团有限公司", "telecom", "北京市", "北京市", core=True),
    _KnownPartner("英特尔（中国）有限公司", "foreign_firm", "上海市", "上海市", core=True),
    _KnownPartner("上海汽车集团股份有限公司", "firm", "上海市", "上海市", ("智能网联汽车",), core=True),
    _KnownPartner("中国工商银行股份有限公司", "bank", "北京市", "北京市", ("智能金融",), core=True),
    _KnownPartner("北京协和医院", "hospital", "北京市", "北京市", ("智能医疗",), core=True),
    _KnownPartner("杭州市人民政府", "government", "浙江省", "杭州市", ("智慧城市", "智慧政务"), core=True),
    _KnownPartner("上海交通大学", "university", "上海市", "上海市"),
    _KnownPartner("华中科技大学", "university", "湖北省", "武汉市"),
    _KnownPartner("中国科学院计算技术研究所", "research_institute", "北京市", "北京市"),
    _KnownPartner("中国联合网络通信集团有限公司", "telecom", "北京市", "北京市"),
    _KnownPartner("西门子（中国）有限公司", "foreign_firm", "北京市", "北京市", ("智能制造",)),
    _KnownPartner("国家电网有限公司", "firm", "北京市", "北京市", ("智能能源",)),
    _KnownPartner("招商银行股份有限公司", "bank", "广东省", "深圳市", ("智能金融",)),
    _KnownPartner("四川大学华西医院", "hospital", "四川省", "成都市", ("智能医疗",)),
    _KnownPartner("深圳市人民政府", "government", "广东省", "深圳市", ("智慧城市", "智慧政务")),
    _KnownPartner("中国人工智能产业发展联盟", "industry_body", "北京市", "北京市"),
)

#: partner kind -> (event kind weights, probability that the sample firm is the provider)
_KIND_RULES: dict[str, tuple[dict[str, float], float]] = {
    "university": ({"joint_lab": 6, "strategic_agreement": 4}, 0.5),
    "research_institute": ({"joint_lab": 5, "strategic_agreement": 5}, 0.5),
    "government": ({"strategic_agreement": 5, "procurement": 5}, 0.95),
    "telecom": ({"strategic_agreement": 4, "supply": 3, "procurement": 3}, 0.6),
    "foreign_firm": ({"supply": 6, "strategic_agreement": 4}, 0.15),
    "firm": ({"supply": 4, "strategic_agreement": 3, "procurement": 3}, 0.7),
    "bank": ({"procurement": 4, "supply": 3, "strategic_agreement": 3}, 0.9),
    "hospital": ({"procurement": 4, "supply": 3, "strategic_agreement": 3}, 0.9),
    "industry_body": ({"strategic_agreement": 1}, 0.5),
    "sample": ({"strategic_agreement": 4, "supply": 3, "procurement": 2, "joint_lab": 1}, 0.5),
}
#: probability that an event of this kind is mutual (no provider/receiver in the text)
_MUTUAL_SHARE: dict[str, float] = {
    "strategic_agreement": 0.75,
    "joint_lab": 1.0,
    "supply": 0.0,
    "procurement": 0.0,
}


# --------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Firm:
    """A sample firm: one of the AI firms whose newsroom is crawled (fictitious)."""

    id: str  # slug, used in URLs
    name: str  # full legal name
    short_name: str
    english_name: str | None
    former_names: tuple[str, ...]
    uscc: str
    province: str
    city: str
    district_code: str  # 6-digit adcode of the registration authority (inside the USCC)
    industry_division: str  # GB/T 4754-2017 two-digit division
    founded_on: dt.date
    employees: int
    listed: bool
    exchange: str | None
    stock_code: str | None
    stock_short_name: str | None
    tech_layer: str
    patents: int
    fiscal_year: int | None
    revenue_cny: int | None
    rd_expense_cny: int | None


@dataclass(frozen=True)
class Partner:
    """A relation node that is not a sample firm (a university, a telecom operator, a firm ...)."""

    name: str  # full canonical name
    kind: str  # one of PARTNER_KINDS
    province: str
    city: str
    real: bool = False  # a well-known real name (True) or a generated firm name (False)


@dataclass(frozen=True)
class Event:
    """One technology cooperation: ``provider`` enables (技术赋能) ``receiver`` (技术输入).

    ``provider`` and ``receiver`` are full canonical names. For ``mutual`` events the order
    carries no meaning (the reporting firm is written first). ``reporter`` is the slug of the
    sample firm whose newsroom reports the event; ``co_reporter`` the second sample firm when
    both parties are sample firms (the event then has two documents).
    """

    id: str
    provider: str
    receiver: str
    direction: str  # "directed" | "mutual"
    kind: str  # one of EVENT_KINDS
    year: int
    date: dt.date
    tech: str
    domain: str
    reporter: str
    co_reporter: str | None = None

    @property
    def reporters(self) -> tuple[str, ...]:
        """Slugs of the newsrooms reporting this event (one or two)."""
        return (self.reporter,) if self.co_reporter is None else (self.reporter, self.co_reporter)

    @property
    def parties(self) -> tuple[str, str]:
        """(provider, receiver)."""
        return (self.provider, self.receiver)


@dataclass(frozen=True)
class CompanyNews:
    """Plain company news of one sample firm that names no other organisation."""

    id: str
    firm: str  # slug
    date: dt.date
    kind: str  # one of NEWS_KINDS
    tech: str


@dataclass(frozen=True)
class Preset:
    """Size and shape parameters of a generated world."""

    firms: int
    real_partners: int  # known real partners (the core ones first)
    generated_partners: int
    events: int
    sample_pair_share: float = 0.12  # share of events between two sample firms
    news_share: float = 0.15  # share of all articles that are plain company news
    min_articles: int = 6  # every newsroom gets at least this many articles (>= 2 pages)
    growth: float = 1.25  # yearly growth factor of the number of events
    listed_share: float = 0.5


PRESETS: dict[str, Preset] = {
    "tiny": Preset(firms=8, real_partners=12, generated_partners=8, events=60),
    "small": Preset(firms=40, real_partners=22, generated_partners=60, events=600),
}


@dataclass(frozen=True)
class World:
    """A generated world: the ground truth behind the demo site."""

    seed: int
    preset: str
    firms: tuple[Firm, ...]
    partners: tuple[Partner, ...]
    events: tuple[Event, ...]
    news: tuple[CompanyNews, ...]
    _firms_by_slug: dict[str, Firm] = field(init=False, repr=False, compare=False)
    _firms_by_name: dict[str, Firm] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_firms_by_slug", {f.id: f for f in self.firms})
        object.__setattr__(self, "_firms_by_name", {f.name: f for f in self.firms})

    def firm(self, slug: str) -> Firm:
        """The sample firm with this slug (KeyError when unknown)."""
        return self._firms_by_slug[slug]

    def firm_by_name(self, name: str) -> Firm | None:
        """The sample firm with this full name, or None for a partner."""
        return self._firms_by_name.get(name)

    def is_sample(self, name: str) -> bool:
        """True when ``name`` is the full name of a sample firm."""
        return name in self._firms_by_name

    def events_reported_by(self, slug: str) -> list[Event]:
        """Events reported in the newsroom of ``slug``, in chronological order."""
        return [e for e in self.events if slug in e.reporters]

    def news_of(self, slug: str) -> list[CompanyNews]:
        """Plain company news of ``slug``, in chronological order."""
        return [n for n in self.news if n.firm == slug]

    def all_names(self) -> list[str]:
        """Full names of every node (sample firms first, then partners)."""
        return [f.name for f in self.firms] + [p.name for p in self.partners]


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _random_date(rng: random.Random, year: int, not_before: dt.date | None = None) -> dt.date:
    start = dt.date(year, 1, 1)
    if not_before is not None and not_before > start:
        start = not_before
    end = dt.date(year, 12, 31)
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _make_firms(rng: random.Random, preset: Preset) -> list[Firm]:
    prefixes = [(a + b, pa + pb) for a, pa in _SAMPLE_FIRST for b, pb in _SAMPLE_SECOND]
    if preset.firms > len(prefixes):
        raise ValueError(f"at most {len(prefixes)} sample firms can be named, asked {preset.firms}")
    rng.shuffle(prefixes)
    used_first: set[str] = set()
    used_slugs: set[str] = set()
    used_codes: set[str] = set()
    firms: list[Firm] = []
    # Firms per city in proportion to the city weights (Beijing first), in shuffled order.
    places = [
        p
        for p, n in zip(_PLACES, _quota([p.weight for p in _PLACES], preset.firms), strict=True)
        for _ in range(n)
    ]
    rng.shuffle(places)
    descriptors = list(_DESCRIPTORS)
    for prefix, prefix_py in prefixes:
        if len(firms) == preset.firms:
            break
        # Spread first characters while there are enough of them (readability of the site).
        if prefix[0] in used_first and len(used_first) < len(_SAMPLE_FIRST):
            continue
        descriptor = rng.choice(descriptors)
        desc_py, desc_en, division, layer_hint = _DESCRIPTORS[descriptor]
        slug = f"{prefix_py}-{desc_py}"
        if slug in used_slugs:
            continue
        used_first.add(prefix[0])
        used_slugs.add(slug)
        place = places[len(firms)]
        adcode = rng.choice(place.adcodes)
        listed = rng.random() < preset.listed_share
        short = prefix + descriptor
        if descriptor == "科技":
            legal = "股份有限公司" if listed else rng.choice(["有限公司", "股份有限公司"])
        elif descriptor == "信息":
            legal = "技术股份有限公司" if listed else "技术有限公司"
        else:
            legal = "科技股份有限公司" if listed else rng.choice(["科技有限公司", "技术有限公司"])
        head = "" if listed and rng.random() < 0.6 else place.name_prefix
        name = f"{head}{prefix}{descriptor}{legal}"
        english = None
        if rng.random() < 0.75:
            english = f"{prefix_py.capitalize()} {desc_en} Technology Co., Ltd."
            if descriptor == "科技":
                english = f"{prefix_py.capitalize()} Technology Co., Ltd."
        former: tuple[str, ...] = ()
        if rng.random() < 0.25:
            old_desc = rng.choice([d for d in ("网络", "软件", "电子") if d != descriptor])
            former = (f"{place.name_prefix}{prefix}{old_desc}技术有限公司",)
        founded_year = rng.randint(2001, 2016) if firms else rng.randint(2001, 2010)
        founded_on = dt.date(founded_year, rng.randint(1, 12), rng.randint(1, 28))
        layer = layer_hint if rng.random() < 0.7 else rng.choice(TECH_LAYERS)
        employees = int(math.exp(rng.uniform(math.log(60), math.log(3000))))
        patents = int(math.exp(rng.uniform(math.log(5), math.log(800))))
        exchange = stock_code = stock_short = None
        fiscal_year = revenue = rd = None
        if listed:
            exchange = rng.choice(("SSE", "SZSE"))
            while True:
                stock_code = rng.choice(STOCK_PREFIXES[exchange]) + f"{rng.randint(1, 999):03d}"
                if stock_code not in used_codes:
                    break
            used_codes.add(stock_code)
            if len(short) == 4 and rng.random() < 0.7:
                stock_short = short
            else:
                stock_short = prefix + rng.choice(("股份", "科技"))
            employees = int(employees * rng.uniform(2, 6))
            patents = int(patents * rng.uniform(1.5, 4))
            fiscal_year = FISCAL_YEAR
            revenue = int(math.exp(rng.uniform(math.log(3e8), math.log(3e10)))) // 1000 * 1000
            rd = int(revenue * rng.uniform(0.06, 0.3)) // 1000 * 1000
        firms.append(
            Firm(
                id=slug,
                name=name,
                short_name=short,
                english_name=english,
                former_names=former,
                uscc=make_uscc(adcode, rng),
                province=place.province,
                city=place.city,
                district_code=adcode,
                industry_division=division,
                founded_on=founded_on,
                employees=employees,
                listed=listed,
                exchange=exchange,
                stock_code=stock_code,
                stock_short_name=stock_short,
                tech_layer=layer,
                patents=patents,
                fiscal_year=fiscal_year,
                revenue_cny=revenue,
                rd_expense_cny=rd,
            )
        )
    if len(firms) < preset.firms:
        raise ValueError(f"could not name {preset.firms} sample firms")
    return sorted(firms, key=lambda f: f.id)


def _make_partners(
    rng: random.Random, preset: Preset
) -> tuple[list[Partner], dict[str, tuple[str, ...]], set[str]]:
    """Partners, their leaning domains and the names that start as hubs."""
    core = [k for k in _KNOWN_PARTNERS if k.core]
    extra = [k for k in _KNOWN_PARTNERS if not k.core]
    n_real = min(preset.real_partners, len(_KNOWN_PARTNERS))
    chosen = core[:n_real] + rng.sample(extra, max(0, n_real - len(core)))
    partners = [Partner(k.name, k.kind, k.province, k.city, real=True) for k in chosen]
    domains = {k.name: k.domains for k in chosen if k.domains}
    hubs = {k.name for k in chosen if k.hub}
    prefixes = [a + b for a in _PARTNER_FIRST for b in _PARTNER_SECOND]
    if preset.generated_partners > len(prefixes):
        raise ValueError(f"at most {len(prefixes)} generated partners, asked {preset.generated_partners}")
    rng.shuffle(prefixes)
    places = list(_PLACES)
    industries = list(_PARTNER_INDUSTRIES)
    for prefix in prefixes[: preset.generated_partners]:
        place = rng.choices(places, weights=[p.weight for p in places], k=1)[0]
        industry = rng.choice(industries)
        legal = rng.choice(("有限公司", "股份有限公司", "集团有限公司"))
        name = f"{place.name_prefix}{prefix}{industry}{legal}"
        partners.append(Partner(name, "firm", place.province, place.city, real=False))
        domains[name] = (_PARTNER_INDUSTRIES[industry],)
    return partners, domains, hubs


def _quota(weights: Sequence[float], total: int, minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties to later items)."""
    if total < minimum * len(weights):
        raise ValueError("total too small for the minimum")
    scale = (total - minimum * len(weights)) / sum(weights)
    raw = [minimum + w * scale for w in weights]
    quota = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - quota[i]), -i))
    for i in order[: total - sum(quota)]:
        quota[i] += 1
    return quota


def _year_quota(total: int, growth: float) -> dict[int, int]:
    """Events per year: geometric growth, at least one a year."""
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    weights = [growth ** (y - FIRST_YEAR) for y in years]
    return dict(zip(years, _quota(weights, total, minimum=1), strict=True))


def _pick_tech(rng: random.Random, year: int) -> str:
    weights = {t: w for t, w in TECH_WEIGHTS.items() if TECH_SINCE.get(t, FIRST_YEAR) <= year}
    return _weighted(rng, weights)


#: Initial attractiveness of a sample firm in preferential attachment (partners: 1, hubs: 3).
#: Higher than the partners' so the sample-firm side concentrates less.
_FIRM_ATTRACT = 3.0


def _make_events(
    rng: random.Random,
    preset: Preset,
    firms: Sequence[Firm],
    partners: Sequence[Partner],
    domains: dict[str, tuple[str, ...]],
    hubs: set[str],
) -> list[Event]:
    dates: list[dt.date] = []
    for year, count in _year_quota(preset.events, preset.growth).items():
        dates.extend(_random_date(rng, year) for _ in range(count))
    dates.sort()
    firm_degree = {f.name: 0 for f in firms}
    partner_degree = {p.name: 0 for p in partners}
    partner_attract = {p.name: (3.0 if p.name in hubs else 1.0) for p in partners}
    partner_kind = {p.name: p.kind for p in partners}
    seen: set[tuple[frozenset[str], int]] = set()
    drafts: list[tuple[dt.date, str, str, str, str, str, str, str, str | None]] = []
    for date in dates:
        eligible = [f for f in firms if f.founded_on < date]
        for _attempt in range(50):
            focal = rng.choices(
                eligible, weights=[firm_degree[f.name] + _FIRM_ATTRACT for f in eligible], k=1
            )[0]
            others = [f for f in eligible if f is not focal]
            if others and rng.random() < preset.sample_pair_share:
                other_firm = rng.choices(
                    others, weights=[firm_degree[f.name] + _FIRM_ATTRACT for f in others], k=1
                )[0]
                other, other_kind = other_firm.name, "sample"
            else:
                other_firm = None
                names = [p.name for p in partners]
                other = rng.choices(
                    names, weights=[partner_degree[n] + partner_attract[n] for n in names], k=1
                )[0]
                other_kind = partner_kind[other]
            pair = (frozenset((focal.name, other)), date.year)
            if pair not in seen:
                break
        seen.add(pair)
        kind_weights, provider_share = _KIND_RULES[other_kind]
        kind = _weighted(rng, kind_weights)
        mutual = rng.random() < _MUTUAL_SHARE[kind]
        if mutual or rng.random() < provider_share:
            provider, receiver = focal.name, other
        else:
            provider, receiver = other, focal.name
        tech = _pick_tech(rng, date.year)
        hint = domains.get(other, ())
        domain = rng.choice(hint) if hint and rng.random() < 0.7 else _weighted(rng, DOMAIN_WEIGHTS)
        firm_degree[focal.name] += 1
        if other_firm is not None:
            firm_degree[other_firm.name] += 1
        else:
            partner_degree[other] += 1
        drafts.append(
            (
                date,
                provider,
                receiver,
                "mutual" if mutual else "directed",
                kind,
                tech,
                domain,
                focal.id,
                other_firm.id if other_firm is not None else None,
            )
        )
    return [
        Event(
            id=f"E{i:04d}",
            provider=provider,
            receiver=receiver,
            direction=direction,
            kind=kind,
            year=date.year,
            date=date,
            tech=tech,
            domain=domain,
            reporter=reporter,
            co_reporter=co_reporter,
        )
        for i, (date, provider, receiver, direction, kind, tech, domain, reporter, co_reporter) in enumerate(
            drafts, start=1
        )
    ]


def _make_news(
    rng: random.Random, preset: Preset, firms: Sequence[Firm], events: Sequence[Event]
) -> list[CompanyNews]:
    counts = {f.id: 0 for f in firms}
    for event in events:
        for slug in event.reporters:
            counts[slug] += 1
    reports = sum(counts.values())
    wanted = round(reports * preset.news_share / (1 - preset.news_share))
    # News go to the emptiest newsroom first; add more when some stay below the minimum.
    wanted = max(wanted, sum(max(0, preset.min_articles - c) for c in counts.values()))
    by_slug = {f.id: f for f in firms}
    drafts: list[tuple[dt.date, str, str, str]] = []
    years = list(range(FIRST_YEAR, LAST_YEAR + 1))
    for _ in range(wanted):
        low = min(counts.values())
        slug = rng.choice(sorted(s for s, c in counts.items() if c == low))
        counts[slug] += 1
        firm = by_slug[slug]
        active = [y for y in years if y >= firm.founded_on.year]
        year = rng.choices(active, weights=[preset.growth ** (y - FIRST_YEAR) for y in active], k=1)[0]
        date = _random_date(rng, year, not_before=firm.founded_on + dt.timedelta(days=1))
        drafts.append((date, slug, rng.choice(NEWS_KINDS), _pick_tech(rng, year)))
    drafts.sort()
    return [
        CompanyNews(id=f"N{i:04d}", firm=slug, date=date, kind=kind, tech=tech)
        for i, (date, slug, kind, tech) in enumerate(drafts, start=1)
    ]


def _check_names(firms: Sequence[Firm], partners: Sequence[Partner]) -> None:
    """No name or short name may be hidden inside another party's name or a taxonomy term.

    Otherwise finding a party in an article would be ambiguous (for the extractor and tests).
    """
    full_names = [f.name for f in firms] + [p.name for p in partners]
    if len(set(full_names)) != len(full_names):
        raise ValueError("duplicate party names")
    terms = list(TECH_CATEGORIES) + list(APPLICATION_DOMAINS)
    for firm in firms:
        for other in full_names + terms:
            if other != firm.name and firm.short_name in other:
                raise ValueError(f"short name {firm.short_name} is inside {other}")
    for name in full_names:
        for other in full_names:
            if other != name and name in other:
                raise ValueError(f"name {name} is inside {other}")


def build_world(seed: int = 7, preset: str = "tiny") -> World:
    """Generate the world for ``seed`` and ``preset`` (see :data:`PRESETS`); deterministic."""
    try:
        params = PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}") from None
    rng = random.Random(seed)
    firms = _make_firms(rng, params)
    partners, domains, hubs = _make_partners(rng, params)
    _check_names(firms, partners)
    events = _make_events(rng, params, firms, partners, domains, hubs)
    news = _make_news(rng, params, firms, events)
    return World(
        seed=seed,
        preset=preset,
        firms=tuple(firms),
        partners=tuple(partners),
        events=tuple(events),
        news=tuple(news),
    )
