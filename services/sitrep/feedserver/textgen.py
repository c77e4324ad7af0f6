"""Deterministic generation of news-like text, people, places and feed metadata.

Every value is derived from a string key (seed, feed, entry index, purpose) through a
freshly seeded :class:`random.Random`. Seeding from a string hashes it with SHA-512, which
does not depend on ``PYTHONHASHSEED``, so a server in another process generates exactly the
same feeds. Nothing is generated up front: a feed or an article costs a few dozen
microseconds to generate when it is first asked for.

The vocabulary is deliberately varied (accented names, numbers, quotes, ampersands) so that
downstream stages meet the escaping and Unicode cases they will meet in real news.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

PLACES = (
    "Northport",
    "Eastvale",
    "Kessling",
    "Marrowby",
    "Port Alder",
    "Brightwater",
    "Oskarsholm",
    "San Teodoro",
    "Velika Ravan",
    "Lakemont",
    "Dunmore Heath",
    "Ridgeford",
    "Caldera Bay",
    "Saint-Aurèle",
    "Hollow Creek",
    "Tamsin Falls",
    "Ostrava Nova",
    "Greymarsh",
    "Quillon",
    "Ashbourne",
    "Mirefield",
    "Zelenograd Minor",
    "Coralline",
    "Westmarch",
    "Ebonwick",
    "Fjellvik",
    "Lindqvist Harbour",
    "Pradera Alta",
    "Sunmere",
    "Ironbridge",
    "Kalmar Sound",
    "Redstone",
    "Valle Oscuro",
    "Harrowgate",
    "Nouvelle-Brême",
    "Tarrin",
    "Ostend Ridge",
)
REGIONS = (
    "the northern provinces",
    "the coastal districts",
    "the river valley",
    "the border region",
    "the capital",
    "the eastern highlands",
    "the southern plains",
    "the delta",
    "the island territories",
    "the industrial belt",
)
ORGS = (
    "the Ministry of Transport",
    "the regional water authority",
    "the central bank",
    "the national statistics office",
    "the port authority",
    "the teachers' union",
    "the health ministry",
    "the electoral commission",
    "the chamber of commerce",
    "the city council",
    "the supreme court",
    "the farmers' cooperative",
    "the energy regulator",
    "the civil aviation agency",
    "the university senate",
    "Harlow & Finch Ltd",
    "Brightline Rail",
    "Meridian Telecom",
    "the Red Cross",
    "the coast guard",
    "the environment agency",
    "the public broadcaster",
)
FIRST_NAMES = (
    "Anna",
    "José",
    "Mei",
    "Oliver",
    "Fatima",
    "Lars",
    "Zoë",
    "Kwame",
    "Ingrid",
    "Rahul",
    "Søren",
    "Amélie",
    "Tomasz",
    "Aiko",
    "Luis",
    "Nadia",
    "Chidi",
    "Elif",
    "Björn",
    "Priya",
    "Łukasz",
    "Hana",
    "Mateo",
    "Olga",
    "Samir",
    "Camille",
    "Yusuf",
    "Greta",
    "Thanh",
    "Ruth",
)
LAST_NAMES = (
    "Okafor",
    "Müller",
    "García",
    "Lindström",
    "Nguyen",
    "O'Brien",
    "Kowalski",
    "Tanaka",
    "Haddad",
    "Fernández",
    "Novak",
    "Andersen",
    "Dubois",
    "Ivanova",
    "Mensah",
    "Rossi",
    "Sato",
    "Çelik",
    "Petrović",
    "Khan",
    "Walsh",
    "Moreau",
    "Jensen",
    "Almeida",
    "Bauer",
    "Nyström",
    "Achebe",
    "Kaur",
    "Duarte",
    "Whitfield",
)
ROLES = (
    "a spokesperson",
    "the minister",
    "the mayor",
    "a senior official",
    "an analyst",
    "a local resident",
    "the chief executive",
    "a union representative",
    "the police chief",
    "an economist",
    "a shop owner",
    "the head of the agency",
    "a nurse",
    "a teacher",
)
TOPICS = (
    "Politics",
    "Economy",
    "Health",
    "Transport",
    "Energy",
    "Climate",
    "Education",
    "Technology",
    "Courts",
    "Agriculture",
    "Security",
    "Culture",
    "Sport",
    "Housing",
    "Labour",
    "Elections",
    "Weather",
    "Science",
    "Trade",
    "Local",
)
NOUNS = (
    "budget",
    "bridge",
    "ferry service",
    "election",
    "strike",
    "harvest",
    "vaccine programme",
    "power grid",
    "water supply",
    "rail line",
    "school reform",
    "tax plan",
    "port expansion",
    "housing project",
    "ceasefire",
    "trade agreement",
    "flood defence",
    "hospital wing",
    "data centre",
    "wind farm",
    "bus network",
    "pension fund",
    "fishing quota",
    "airport",
    "curfew",
    "inquiry",
    "court ruling",
    "price cap",
    "recycling scheme",
    "broadband rollout",
)
VERBS_PAST = (
    "announced",
    "postponed",
    "approved",
    "rejected",
    "unveiled",
    "criticised",
    "defended",
    "suspended",
    "expanded",
    "reviewed",
    "cancelled",
    "extended",
    "debated",
    "welcomed",
    "questioned",
    "finalised",
    "delayed",
    "funded",
    "investigated",
    "relaunched",
)
ADJECTIVES = (
    "controversial",
    "long-awaited",
    "costly",
    "temporary",
    "ambitious",
    "disputed",
    "record",
    "emergency",
    "revised",
    "cross-border",
    "regional",
    "historic",
    "unexpected",
    "modest",
    "sweeping",
    "stalled",
    "contested",
    "new",
    "overdue",
    "joint",
)
EVENTS = (
    "heavy rain",
    "weeks of protests",
    "a cyber attack",
    "a sharp rise in prices",
    "a court challenge",
    "a power outage",
    "the spring floods",
    "a corruption probe",
    "a landslide",
    "months of negotiations",
    "a shortage of staff",
    "a fire at the depot",
    "the closure of the mine",
    "a surge in demand",
    "an audit",
    "a collision at sea",
)
HEADLINE_TEMPLATES = (
    "{Org} {verb} {adj} {noun} in {place}",
    "{place}: {noun} {verb} after {event}",
    "{Adj} {noun} {verb} as {event} hits {region}",
    "What the {adj} {noun} means for {place}",
    "{person} says {noun} in {place} will go ahead",
    "{place} residents react to {adj} {noun}",
    "Officials in {place} {verb} {noun} following {event}",
    "{Noun} plan for {region} {verb} by {org}",
    "Live: {event} disrupts {noun} in {place}",
    "Analysis: why the {noun} in {place} was {verb}",
    "{number} people affected as {event} strikes {place}",
    "{Org} and {org2} clash over {noun}",
)
SENTENCE_TEMPLATES = (
    "{Org} {verb} the {adj} {noun} on {weekday}, according to {role}.",
    "The decision follows {event} in {region}, where {number} households were affected.",
    '"We have no choice but to act," said {person}, {role}, speaking in {place}.',
    "Critics argue that the {noun} will cost at least {money} over the next {years} years.",
    "Supporters say the {adj} {noun} could benefit {number} people in {place} alone.",
    "{person}, {role}, told reporters the {noun} had been {verb} twice since {year}.",
    "In {place}, {event} has already forced {org} to reconsider the {noun}.",
    "Figures published by {org} show a {percent}% change compared with last year.",
    "The {noun} was first proposed in {year} but {verb} amid {event}.",
    "Residents of {place} & {place2} gathered on {weekday} to discuss the {adj} {noun}.",
    "{Org} declined to comment on the {noun}, citing {event}.",
    "A report by {org} warned that {region} could face {event} within {years} years.",
    "Officials expect the {noun} to be {verb} before the end of {month}.",
    '"It\'s a <b>big</b> step," {person} wrote in a statement, adding: "Costs > benefits?"',
    "Local businesses in {place} said the {adj} {noun} was {verb} without consultation.",
    "According to {role}, about {percent}% of the {noun} budget remains unspent.",
    "{person} said the {noun} would not have happened without pressure from {org}.",
    "The {adj} {noun} is expected to employ {number} workers once it opens in {month}.",
    'Opposition members called the plan "a {adj} mistake" and demanded a vote.',
    "Traffic around {place} was diverted for several hours on {weekday} morning.",
    "{Org} has scheduled a public hearing on the {noun} for early {month}.",
    "Analysts at {org} noted that prices in {region} rose {percent}% in the last quarter.",
    "The last comparable {noun}, in {year}, took {years} years to complete.",
    "Police said {number} people attended the demonstration in {place}, organisers more.",
    "Neither {org} nor {org2} responded to requests for comment by {weekday} evening.",
    "Documents seen by this newspaper suggest the {noun} was {verb} as early as {year}.",
    "Farmers in {region} say {event} has cut their income by about {percent}%.",
    'In a statement, {org} said it "regrets any inconvenience" caused by the {noun}.',
    "Schools in {place} will stay open, {role} confirmed after {event}.",
    "The {topic} committee is due to publish its findings on the {noun} in {month}.",
    "Funding of {money} was set aside for the {noun}, though critics say it is too little.",
    "{person} ({role}) described the mood in {place} as tense but calm.",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SITE_WORDS = (
    "Courier",
    "Herald",
    "Gazette",
    "Observer",
    "Chronicle",
    "Post",
    "Times",
    "Ledger",
    "Dispatch",
    "Tribune",
    "Sentinel",
    "Record",
    "Mercury",
    "Examiner",
    "Bulletin",
    "Wire",
)
#: Offsets used for feed dates: real feeds mix UTC, local times and odd offsets.
TZ_OFFSETS_MIN = (0, 0, 0, 60, 120, -300, -240, 330, 540, -180, 345, 0, 600)


def rng(*parts: object) -> random.Random:
    """A generator seeded from the joined ``parts``; identical in every process."""
    return random.Random(":".join(str(p) for p in parts))


def unit(*parts: object) -> float:
    """A cheap deterministic number in [0, 1) for ``parts`` (no Random object needed)."""
    digest = hashlib.blake2b(":".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def short_hash(*parts: object, size: int = 8) -> str:
    """A short stable hex digest, used for ETags and opaque identifiers."""
    raw = ":".join(str(p) for p in parts).encode()
    return hashlib.blake2b(raw, digest_size=size).hexdigest()


def pick(r: random.Random, pool: tuple[str, ...]) -> str:
    """``r.choice(pool)``, several times faster (text generation is mostly this call)."""
    return pool[int(r.random() * len(pool))]


def between(r: random.Random, low: int, high: int) -> int:
    """``r.randint(low, high)``, cheaper."""
    return low + int(r.random() * (high - low + 1))


def person(r: random.Random) -> str:
    """A full name; some are accented so UTF-8 handling is exercised everywhere."""
    return f"{pick(r, FIRST_NAMES)} {pick(r, LAST_NAMES)}"


class _Slots(dict[str, str]):
    """Template slot values drawn only when a template asks for them.

    Drawing all slots for every sentence dominated generation time; drawing on demand
    keeps output deterministic (templates are fixed, so the draw order is too).
    """

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        self.r = r

    def _other(self, pool: tuple[str, ...], taken: str) -> str:
        value = pick(self.r, pool)
        while value == self.get(taken):
            value = pick(self.r, pool)
        return value

    def __missing__(self, key: str) -> str:
        r = self.r
        if key[0].isupper():
            base = self[key[0].lower() + key[1:]]
            value = base[0].upper() + base[1:]
        elif key in _POOLS:
            value = pick(r, _POOLS[key])
        elif key == "org2":
            value = self._other(ORGS, "org")
        elif key == "place2":
            value = self._other(PLACES, "place")
        elif key == "person":
            value = person(r)
        elif key == "number":
            value = f"{between(r, 2, 90) * 10 ** between(r, 0, 3):,}"
        elif key == "money":
            value = f"${between(r, 2, 950)} million"
        elif key == "years":
            value = str(between(r, 2, 15))
        elif key == "year":
            value = str(between(r, 1998, 2024))
        elif key == "percent":
            value = f"{0.5 + r.random() * 44.5:.1f}"
        else:
            raise KeyError(key)
        self[key] = value
        return value


_POOLS: dict[str, tuple[str, ...]] = {
    "org": ORGS,
    "place": PLACES,
    "region": REGIONS,
    "noun": NOUNS,
    "adj": ADJECTIVES,
    "verb": VERBS_PAST,
    "event": EVENTS,
    "role": ROLES,
    "weekday": WEEKDAYS,
    "month": MONTHS,
    "topic": TOPICS,
}


def headline(r: random.Random) -> str:
    """A news-style headline."""
    return pick(r, HEADLINE_TEMPLATES).format_map(_Slots(r))


def sentence(r: random.Random) -> str:
    """One sentence of plain text (may contain quotes, ``&``, ``<`` and ``>``)."""
    return pick(r, SENTENCE_TEMPLATES).format_map(_Slots(r))


def paragraph(r: random.Random, low: int = 3, high: int = 7) -> str:
    """Several sentences of plain text."""
    return " ".join(sentence(r) for _ in range(between(r, low, high)))


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """The stable identity of one generated feed (its "site")."""

    n: int
    title: str
    description: str
    language: str
    atom: bool
    #: Average time between two entries.
    interval: timedelta
    #: The offset the site writes its dates in.
    tz: timezone
    #: Whether entries carry the article body (content:encoded / atom:content) too.
    full_content: bool
    #: Whether entries' summaries are HTML (escaped) rather than plain text.
    html_summary: bool


def feed_meta(seed: int, n: int, atom_share: float) -> FeedMeta:
    """Metadata of generated feed ``n``."""
    r = rng(seed, "feed", n)
    place = r.choice(PLACES)
    title = f"The {place} {r.choice(SITE_WORDS)}"
    if r.random() < 0.2:
        title += f" – {r.choice(TOPICS)}"
    return FeedMeta(
        n=n,
        title=title,
        description=f"Latest news from {place} and {r.choice(REGIONS)}",
        language=r.choice(("en", "en", "en-GB", "en-US")),
        atom=unit(seed, "kind", n) < atom_share,
        interval=timedelta(minutes=r.choice((7, 15, 30, 45, 60, 120, 240, 480))),
        tz=timezone(timedelta(minutes=r.choice(TZ_OFFSETS_MIN))),
        full_content=r.random() < 0.3,
        html_summary=r.random() < 0.4,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry, independent of the server's address.

    ``path`` is the article's path on the server (``None`` for entries without a link);
    renderers turn it into a link.
    """

    key: str
    index: int
    guid: str
    title: str
    summary: str
    published: datetime
    updated: datetime
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    path: str | None


def entry_times(
    seed: int, key: str, index: int, newest: int, base_time: datetime, interval: timedelta
) -> tuple[datetime, datetime]:
    """Published and updated times of entry ``index`` when ``newest`` is the base entry.

    Entry ``newest`` is published up to a third of an interval before ``base_time``, and
    every other entry one interval per step earlier or later; the jitter stays below a
    third of the interval, so both times are strictly increasing with ``index``. Entries
    added at run time get indexes above ``newest`` and so are newer than ``base_time``.
    """
    step = interval.total_seconds()
    jitter = unit(seed, key, index, "jitter") * step / 3
    published = base_time + timedelta(seconds=(index - newest) * step - jitter)
    edited = unit(seed, key, index, "edit")
    updated = published + timedelta(seconds=edited * step / 3) if edited < 0.3 else published
    return published.replace(microsecond=0), updated.replace(microsecond=0)


def make_entry(
    seed: int,
    key: str,
    index: int,
    published: datetime,
    updated: datetime,
    path: str | None,
    guid: str | None = None,
) -> Entry:
    """Entry ``index`` of the feed identified by ``key`` (e.g. ``"7"`` or ``"bad-empty"``)."""
    r = rng(seed, "entry", key, index)
    n_authors = r.choice((0, 1, 1, 1, 2))
    return Entry(
        key=key,
        index=index,
        guid=guid or f"tag:sitrep.test,2025:{key}/{index}",
        title=headline(r),
        summary=" ".join(sentence(r) for _ in range(r.randint(1, 3))),
        published=published,
        updated=updated,
        authors=tuple(person(r) for _ in range(n_authors)),
        categories=tuple(r.sample(TOPICS, r.randint(0, 3))),
        path=path,
    )
