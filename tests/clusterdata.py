"""A made-up stream for the cluster test and bench/cluster.py: local news sites (an RSS feed
and its article pages each) and briefs, generated from templates. Every town, agency and
operation is fictional; a few articles leak one brief each, the rest are ordinary local news.
"""

from __future__ import annotations

import html
import random
from datetime import date, timedelta
from email.utils import format_datetime
from pathlib import Path

from leaksentry import clock

AGENCIES = [
    "Border Revenue Unit",
    "County Fraud Squad",
    "Harbour Safety Office",
    "Wildlife Crime Team",
    "Licensing Enforcement Unit",
]
PLACES = [
    ("Brindlecombe", "grain silo yard"),
    ("Tarrowby", "north ferry ramp"),
    ("Oskerfield", "old tannery depot"),
    ("Wrenmouth", "fish market cold store"),
    ("Quillmere", "canal basin warehouse"),
    ("Skelbridge", "quarry weighbridge"),
    ("Marrowdene", "railway goods shed"),
    ("Pellinford", "container lorry park"),
    ("Hobthorpe", "livestock auction ring"),
    ("Vantry Cross", "bus depot workshop"),
    ("Ellerwick", "marina fuel jetty"),
    ("Coldharrow", "textile mill loading bay"),
    ("Dunmallow", "airfield hangar three"),
    ("Fenstrand", "sugar beet pier"),
    ("Gorsemere", "recycling centre gate"),
    ("Nettlecombe", "brewery bottling hall"),
    ("Ravensholm", "timber wharf"),
    ("Sallowgate", "printing works yard"),
    ("Thistlebury", "cattle market car park"),
    ("Yarrowdale", "ice rink plant room"),
]
VEHICLES = ["mobile scanner vans", "dog units", "tow trucks", "patrol boats", "drone teams"]
TARGETS = [
    "contraband tobacco in refrigerated trailers",
    "counterfeit spirits in unmarked pallets",
    "unlicensed fireworks in shipping containers",
    "smuggled songbirds in crates of produce",
    "forged vehicle documents in the site office",
    "untaxed red diesel in tanker lorries",
    "stolen catalytic converters in scrap skips",
    "illegal eel shipments in chilled boxes",
    "fake designer handbags in parcel cages",
    "unregistered slot machines in storage lockers",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

TOWNS = ["Lowbarrow", "Piddlestone", "Crickhallow", "Mistlewood", "Ambersett", "Kettleby Moor"]
TOPICS = [
    ("council", "The {town} parish council met on {day} to discuss {thing}. Councillor "
     "{person} said the plan for {thing} would return to the agenda in {month}. {n} residents "
     "attended and {m} letters were read out."),
    ("school", "Pupils at {town} primary school raised {n} pounds at their {thing} fair on "
     "{day}. Head teacher {person} thanked the {m} parents who baked for the stalls."),
    ("sport", "{town} Rovers beat {town2} Athletic {n} to {m} on {day} in front of a crowd "
     "of several hundred. Captain {person} scored twice before the break."),
    ("weather", "Heavy rain is expected across {town} from {day}, with up to {n} millimetres "
     "forecast. The {thing} will stay open, organisers said, though {m} events have moved "
     "indoors."),
    ("library", "{town} library will host a {thing} workshop every {day} in {month}. "
     "Librarian {person} said {n} places are available and booking opens next week."),
    ("roads", "Resurfacing of the {town} high street begins on {day} and will last {n} days. "
     "Buses will divert past the {thing}, and {m} parking bays will be suspended."),
]  # fmt: skip
THINGS = ["allotments", "playground", "village hall", "cycle path", "duck pond", "bandstand",
          "community orchard", "skate park", "farmers market", "cricket pavilion"]  # fmt: skip
PERSONS = ["Ada Quenby", "Tobias Marchfield", "Nell Ashgrove", "Rufus Penderel", "Ivy Coldwell",
           "Silas Brackenbury", "Mabel Thornicroft", "Otto Fennimore"]  # fmt: skip
MONTHS = ["January", "March", "May", "July", "September", "November"]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{published}"></head><body>
<article><h1>{title}</h1>{paragraphs}</article>
<footer><p>{site}, a fictional local paper for tests.</p></footer></body></html>"""


def brief(n: int, today: date) -> dict:
    """Brief number n (0-based): an operation at a place, a time, a count, a target."""
    agency = AGENCIES[n % len(AGENCIES)]
    town, spot = PLACES[n % len(PLACES)]
    hour, minute = 4 + n % 5, (15 * n) % 60
    officers, vehicles = 17 + 3 * n, 2 + n % 4
    vehicle, target = VEHICLES[n % len(VEHICLES)], TARGETS[n % len(TARGETS)]
    when = today + timedelta(days=10 + n)
    day = f"{DAYS[when.weekday()]} {when.day} {when:%B %Y}"
    return {
        "id": f"C-{n:02d}",
        "agency": agency,
        "codename": f"FICTION {n:02d}",
        "summary": (
            f"{agency} operation at the {town} {spot}. From {hour:02d}:{minute:02d} on {day}, "
            f"{officers} officers with {vehicles} {vehicle} will search for {target}. The site "
            f"owners are told on the morning itself. The {spot} stays closed until noon."
        ),
        "details": [
            f"Place: {town}, {spot}",
            f"Start {hour:02d}:{minute:02d} on {day}",
            f"{officers} officers and {vehicles} {vehicle}",
            f"Target: {target}",
            f"The {spot} closed until noon",
        ],
        "active_from": (today - timedelta(days=30)).isoformat(),
        "active_until": (today + timedelta(days=30)).isoformat(),
        "recipients": [f"desk{n % 3}@example.org"],
    }


def leak(b: dict) -> tuple[str, str]:
    """An article that gives brief `b` away."""
    town, spot = b["details"][0].removeprefix("Place: ").split(", ")
    start = b["details"][1].removeprefix("Start ")
    force = b["details"][2]
    target = b["details"][3].removeprefix("Target: ")
    day_time = start.split(" on ")
    title = f"{town} {spot} raid: {force} at {day_time[0]}"
    text = (
        f"Staff at the {town} {spot} say they have been warned of an {b['agency']} raid. "
        f"From {day_time[0]} on {day_time[1]}, {force} will search for {target}, according "
        "to two people who saw the plans.\n"
        f"The {spot} stays closed until noon, they said. The site owners are told on the "
        "morning itself. Nobody from the agency would comment."
    )
    return title, text


def ordinary(rng: random.Random, n: int) -> tuple[str, str]:
    """Ordinary local news, numbered so no two are the same text."""
    kind, template = TOPICS[n % len(TOPICS)]
    town, town2 = rng.sample(TOWNS, 2)
    values = {
        "town": town,
        "town2": town2,
        "day": rng.choice(DAYS),
        "thing": rng.choice(THINGS),
        "person": rng.choice(PERSONS),
        "month": rng.choice(MONTHS),
        "n": rng.randint(2, 90),
        "m": rng.randint(2, 40),
    }
    text = template.format(**values) + f"\nReport number {n} in our {kind} series."
    return f"{town}: {kind} news, report {n}", text


def stream(items: int, briefs: int, sources: int, today: date | None = None, seed: int = 13):
    """The briefs and, per source, its articles (title, text): `items` in all, one leak per
    brief spread over the sources and the stream."""
    today = today or clock.now().date()
    rng = random.Random(seed)
    chosen = [brief(n, today) for n in range(briefs)]
    articles = [ordinary(rng, n) for n in range(items - len(chosen))]
    for n, b in enumerate(chosen):
        articles.insert((n * 7919) % (len(articles) + 1), leak(b))
    per_source = [articles[k::sources] for k in range(sources)]
    return chosen, per_source


def write_sites(root: Path, per_source: list[list[tuple[str, str]]]) -> list[str]:
    """Under root: s0/, s1/, ... each with feed.rss and articles/aN.html. The feed paths."""
    now = clock.now()
    feeds = []
    for k, articles in enumerate(per_source):
        folder = root / f"s{k}"
        (folder / "articles").mkdir(parents=True)
        entries = []
        for n, (title, text) in enumerate(articles):
            when = now - timedelta(minutes=len(articles) - n + 5)
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n"))
            page = PAGE.format(
                title=html.escape(title),
                published=when.isoformat(),
                paragraphs=paragraphs,
                site=f"The Source {k} Courier",
            )
            (folder / "articles" / f"a{n}.html").write_text(page, encoding="utf-8")
            entries.append(
                f"<item><title>{html.escape(title)}</title>"
                f"<link>{{{{SITE}}}}/s{k}/articles/a{n}.html</link><guid>s{k}-a{n}</guid>"
                f"<pubDate>{format_datetime(when)}</pubDate></item>"
            )
        (folder / "feed.rss").write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>The Source {k} Courier</title><link>{{{{SITE}}}}/</link>"
            "<description>news</description>" + "".join(reversed(entries)) + "</channel></rss>",
            encoding="utf-8",
        )
        feeds.append(f"/s{k}/feed.rss")
    return feeds


def write_briefs(folder: Path, briefs: list[dict]) -> list[Path]:
    """One TOML file per brief."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in briefs:
        lines = [f"{key} = {_toml(b[key])}" for key in ("id", "codename", "summary")]
        lines.append("details = [" + ", ".join(_toml(d) for d in b["details"]) + "]")
        lines += [f"active_from = {b['active_from']}", f"active_until = {b['active_until']}"]
        lines.append("recipients = [" + ", ".join(_toml(r) for r in b["recipients"]) + "]")
        path = folder / f"{b['id']}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
