"""A deterministic generator of realistic ideas for the search benchmark.

Idea ``n`` of seed ``s`` is always the same text, whatever else is generated: each idea
has a random generator of its own, seeded by ``(s, n)``. So the first 10,000 ideas of
a 100,000-idea register are the 10,000-idea register, and ideas past the end of a
register (``n >= count``) are new submissions for it.

The text is NHS care-alliance innovation prose, about 160 words an idea: a title, a
summary, a body and tags, on one of the alliance's topics (frailty, social prescribing,
discharge, ...). Words are drawn with Zipf-like frequencies (the word of rank ``r``
with weight ``1 / r``) from a ranked vocabulary of common words, the alliance's own
terms and a long tail of place names, ODS-like codes and figures, so posting lists
are as skewed as real text's. Ideas come in all four sensitivities, from providers
and forums, owned and submitted as the alliance's rule says: a provider idea by a
member of its provider, a forum idea by a member of its group, owned by the CCG.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

# The demo alliance's organisations (registry/demo.py; tests/bench checks they agree),
# named here so that `python -m bench` imports no application code until it runs.
CCG = "NHS Sunderland CCG (demo)"
NORTHSIDE = "Northside GP Federation"
RIVERSIDE = "Riverside Community Care"
HARBOUR = "Harbour Urgent Care"
WEARSIDE = "Wearside Mental Health Partnership"

DEFAULT_SEED = 5

# The demo alliance's people, and people the benchmark adds so that every provider
# and every group has someone to submit its ideas. Bench people never sign in.
BENCH_PEOPLE: list[tuple[str, str, str, list[str]]] = [
    # email, display name, provider, group slugs
    ("hal@harbour.example", "Hal (Harbour, bench)", HARBOUR, ["urgent-intermediate-care"]),
    ("wren@wearside.example", "Wren (Wearside, bench)", WEARSIDE, ["mental-health-ld-autism"]),
    (
        "rory@riverside.example",
        "Rory (Riverside, bench)",
        RIVERSIDE,
        ["enhanced-primary-community-care", "alliance-executive-group"],
    ),
]

# Who submits a provider's ideas, and with what share of the provider ideas.
PROVIDERS: list[tuple[str, float, tuple[str, ...]]] = [
    (NORTHSIDE, 0.35, ("pat@northside.example", "fran@northside.example")),
    (RIVERSIDE, 0.25, ("quinn@riverside.example", "rory@riverside.example")),
    (HARBOUR, 0.20, ("hal@harbour.example",)),
    (WEARSIDE, 0.20, ("wren@wearside.example",)),
]
# Who submits a group's ideas, and with what share of the forum ideas.
GROUPS: list[tuple[str, float, tuple[str, ...]]] = [
    ("general-practice", 0.30, ("fran@northside.example",)),
    ("mental-health-ld-autism", 0.20, ("wren@wearside.example",)),
    ("enhanced-primary-community-care", 0.20, ("rory@riverside.example",)),
    ("urgent-intermediate-care", 0.20, ("hal@harbour.example",)),
    ("alliance-executive-group", 0.10, ("rory@riverside.example",)),
]
FORUM_SHARE = 0.4
# Providers keep more of their ideas to themselves than forums do.
SENSITIVITY_SHARES = {
    "provider": {"public": 0.10, "alliance": 0.35, "commercial": 0.40, "confidential": 0.15},
    "forum": {"public": 0.30, "alliance": 0.50, "commercial": 0.10, "confidential": 0.10},
}
WITHDRAWN_SHARE = 0.02
# Submissions are spread over three years before this moment, in idea order.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)

# The alliance's topics: the words that name them, the words their ideas use, the
# tags they carry and the phrases their titles are made of.
TOPICS: dict[str, dict[str, str]] = {
    "frailty": {
        "terms": "frailty|frail elderly|falls|care home|comprehensive geriatric assessment|"
        "polypharmacy|deconditioning|mobility|carers|rockwood score|electronic frailty index|"
        "anticipatory care|multidisciplinary team",
        "tags": "frailty|falls|care homes|older people",
        "titles": "frailty link workers|shared care plans for frailty|falls prevention in "
        "care homes|frailty virtual ward|anticipatory care for frail patients",
    },
    "social prescribing": {
        "terms": "social prescribing|link worker|loneliness|isolation|community groups|"
        "voluntary sector|wellbeing|gardening|walking groups|befriending|arts|referral|"
        "personalised care",
        "tags": "social prescribing|voluntary sector|loneliness|personalised care",
        "titles": "social prescribing link workers|green social prescribing|befriending "
        "for isolated patients|community referral hub|arts on prescription",
    },
    "discharge": {
        "terms": "discharge|delayed transfers of care|reablement|step down|intermediate "
        "care beds|home first|trusted assessor|length of stay|patient flow|ward|care "
        "packages|discharge to assess",
        "tags": "discharge|reablement|intermediate care|patient flow",
        "titles": "discharge to assess pathway|home first reablement|trusted assessor for "
        "care homes|step down beds|same day discharge lounge",
    },
    "diabetes": {
        "terms": "diabetes|type 2 diabetes|hba1c|insulin|structured education|foot checks|"
        "retinal screening|remission|low calorie diet|glucose monitoring|prediabetes|"
        "cardiovascular risk",
        "tags": "diabetes|long term conditions|prevention|structured education",
        "titles": "type 2 diabetes remission|diabetes foot protection service|continuous "
        "glucose monitoring|prediabetes prevention programme|insulin safety in care homes",
    },
    "mental health crisis": {
        "terms": "mental health crisis|safe haven|crisis team|street triage|section 136|"
        "self harm|suicide prevention|recovery college|psychiatric liaison|"
        "talking therapies|crisis line",
        "tags": "mental health|crisis care|suicide prevention|psychiatric liaison",
        "titles": "crisis safe haven|street triage with police|psychiatric liaison in the "
        "emergency department|recovery college|crisis text line",
    },
    "digital triage": {
        "terms": "digital triage|online consultation|total triage|care navigator|app|"
        "telephone callback|video consultation|algorithm|remote monitoring|portal|"
        "nhs app|patient access",
        "tags": "digital|triage|online consultation|remote monitoring",
        "titles": "total digital triage|online consultation hub|care navigator training|"
        "remote monitoring platform|video consultation for care homes",
    },
    "workforce": {
        "terms": "workforce|recruitment|retention|additional roles reimbursement scheme|"
        "clinical pharmacists|physician associates|paramedics|training|rotation|burnout|"
        "apprenticeships|staff wellbeing",
        "tags": "workforce|training|recruitment|additional roles",
        "titles": "shared additional roles pool|rotational paramedic posts|nurse "
        "apprenticeships|retention through flexible working|training hub",
    },
    "estates": {
        "terms": "estates|premises|buildings|space utilisation|rent|lease|community hub|"
        "clinic rooms|energy|carbon|net zero|capital bid|co-location",
        "tags": "estates|net zero|premises|community hubs",
        "titles": "shared clinic rooms|community health hub|net zero surgeries|space "
        "utilisation survey|co-located services",
    },
    "medicines optimisation": {
        "terms": "medicines optimisation|structured medication review|deprescribing|"
        "pharmacist|polypharmacy|antimicrobial stewardship|inhalers|medicines waste|"
        "repeat prescribing|adherence",
        "tags": "medicines|prescribing|pharmacy|deprescribing",
        "titles": "structured medication reviews|deprescribing in care homes|green "
        "inhalers|repeat prescribing hub|antimicrobial stewardship",
    },
    "care pathways": {
        "terms": "care pathway|referral criteria|integrated care|clinical guidance|"
        "outpatients|advice and guidance|waiting list|primary secondary interface|"
        "specialist nurse|musculoskeletal|heart failure",
        "tags": "care pathways|integrated care|outpatients|referrals",
        "titles": "advice and guidance pathway|integrated musculoskeletal pathway|"
        "waiting list validation|one stop clinic|heart failure pathway",
    },
    "respiratory": {
        "terms": "copd|asthma|pulmonary rehabilitation|spirometry|home oxygen|"
        "exacerbation|rescue packs|inhaler technique|virtual ward|pulse oximetry|"
        "breathlessness",
        "tags": "respiratory|copd|asthma|virtual ward",
        "titles": "virtual ward step down for copd|pulmonary rehabilitation at home|"
        "community spirometry hub|childhood asthma friendly schools|copd rescue packs",
    },
    "urgent care": {
        "terms": "urgent care|same day access|minor injuries|walk in centre|extended access|"
        "ambulance handover|conveyance|111|urgent community response|two hour response",
        "tags": "urgent care|same-day|ambulance|access",
        "titles": "same day access hub|urgent community response|ambulance conveyance "
        "avoidance|extended access rota|minor injuries unit redesign",
    },
    "dementia": {
        "terms": "dementia|memory assessment|diagnosis|carers support|admiral nurse|"
        "delirium|cognitive impairment|behavioural symptoms|care home|advance care planning",
        "tags": "dementia|memory|carers|care homes",
        "titles": "dementia diagnosis in primary care|admiral nurse outreach|delirium "
        "prevention|dementia friendly practices|memory cafe network",
    },
    "end of life": {
        "terms": "end of life care|palliative care|advance care planning|hospice|preferred "
        "place of death|anticipatory medicines|respect form|bereavement",
        "tags": "end of life|palliative care|advance care planning",
        "titles": "anticipatory medicines at home|palliative care coordination centre|"
        "advance care planning in care homes|bereavement support",
    },
    "learning disabilities": {
        "terms": "learning disabilities|autism|annual health checks|reasonable adjustments|"
        "stomp|easy read|hospital passport|transition|neurodiversity",
        "tags": "learning disabilities|autism|health checks",
        "titles": "annual health checks outreach|easy read letters|autism friendly "
        "clinics|transition to adult services",
    },
    "prevention": {
        "terms": "prevention|health inequalities|smoking cessation|weight management|"
        "hypertension|blood pressure|screening|vaccination uptake|deprivation|"
        "core20plus5|outreach",
        "tags": "prevention|health inequalities|screening|vaccination",
        "titles": "blood pressure checks in pharmacies|vaccination outreach van|smoking "
        "cessation in pregnancy|health inequalities dashboard|cancer screening uptake",
    },
}

# Common English and NHS-management words, most frequent first: their rank sets their
# weight. The function words at the top are what makes real text's posting lists long.
COMMON = """
the of and to a in for is that on with as by be are this at from patients care will or
it an we have which our their service practice team services health support would can
not all local people more new also was has each primary community one time staff within
who they across through these two week year per into than other over work nurse system
first day clinical data plan review used between use three model alliance pilot cost
saving evidence outcome outcomes provider providers federation hospital ccg forum
cluster trust gp practices general manager lead funding months patient referrals demand
capacity access appointments waiting reduce reduced improve improved improvement quality
safety risk need needs number numbers rate rates early late home homes family families
weekly daily monthly results audit baseline pathway partners partnership shared sharing
share joint jointly together approach based agreed proposal propose proposed scheme
programme project phase stage scale spread roll out evaluation evaluate evaluated
measure measures measured report reports reported feedback survey satisfaction
experience experiences training trained skills role roles post posts hours session
sessions clinic clinics visit visits contact contacts call calls letter letters record
records system systems software template templates dashboard dashboards business case
budget savings investment tariff contract commissioning commissioner commissioners
governance board meeting meetings minutes sign off approval approved consent information
governance privacy impact assessment dpia safeguarding escalation protocol standard
operating procedure policy policies north south east west central town city ward wards
area areas neighbourhood neighbourhoods population populations cohort cohorts age older
younger adults children young person persons carer carers relative relatives volunteer
volunteers receptionist receptionists administrator administrators coordinator
coordinators champion champions specialist specialists consultant consultants registrar
pharmacist physiotherapist occupational therapist dietitian podiatrist paramedic
paramedics health visitor midwife social worker
""".split()  # noqa: SIM905 (a word list reads best as prose)

# The long tail: places, codes and figures, each rare.
PLACES = """
sunderland washington houghton hetton southwick hendon roker fulwell seaburn pallion
millfield castletown doxford silksworth grindon farringdon ryhope tunstall pennywell
hylton redhouse downhill penshaw springwell columbia concord barmston biddick boldon
cleadon whitburn seaham murton herrington newbottle philadelphia
""".split()  # noqa: SIM905 (a word list reads best as prose)


@dataclass(frozen=True)
class GeneratedIdea:
    """One idea as the benchmark registers it: its text and who owns and submitted it."""

    number: int
    title: str
    summary: str
    body: str
    tags: tuple[str, ...]
    sensitivity: str
    origin: str
    owner: str  # an organisation's name
    group: str | None  # a group's slug, for forum ideas
    submitter: str  # an email
    submitted_at: datetime
    withdrawn: bool

    @property
    def words(self) -> int:
        """How many words the idea holds (title, summary, body and tags)."""
        return sum(len(text.split()) for text in (self.title, self.summary, self.body, *self.tags))


@dataclass(frozen=True)
class SearchQuery:
    """A 2-3 word query and one filter: ``filter`` is (owner|origin|group|sensitivity, value),
    the value an organisation's name, a group's slug or the enum's value."""

    words: tuple[str, ...]
    filter: tuple[str, str]

    @property
    def text(self) -> str:
        return " ".join(self.words)


class _Zipf:
    """Draws from a ranked population with weight ``1 / rank ** exponent``."""

    def __init__(self, population: list[str], exponent: float = 1.0):
        self.population = population
        self.cumulative = list(
            itertools.accumulate(1 / rank**exponent for rank in range(1, len(population) + 1))
        )

    def draw(self, rng: random.Random) -> str:
        point = rng.random() * self.cumulative[-1]
        return self.population[bisect.bisect_left(self.cumulative, point)]


def _surnames(count: int) -> list[str]:
    """``count`` made-up, pronounceable place and family names: the vocabulary's long tail
    (real text's vocabulary keeps growing with its size; ours needs a tail to do so)."""
    rng = random.Random("registry-bench-tail")
    onsets = "b c d f g h k l m n p r s t w br ch cl cr dr fr gr pl sh st th tr".split()  # noqa: SIM905
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou"]
    codas = ["", "n", "r", "l", "m", "ck", "ng", "st", "nd", "rd", "th", "ll", "ss"]
    endings = "ley ton by field ham wick dale well ford worth bury stead side more".split()  # noqa: SIM905
    names: dict[str, None] = {}
    while len(names) < count:
        stem = rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
        names[stem + rng.choice(endings)] = None
    return list(names)


TAIL_NAMES = 15_000


@cache
def _vocabulary() -> tuple[_Zipf, dict[str, _Zipf]]:
    # Topic words join the common words after the function words: every topic's words
    # are frequent in its own ideas (through its phrases) and present in others.
    common = list(dict.fromkeys(COMMON))
    topic_words = list(
        dict.fromkeys(
            word for topic in TOPICS.values() for word in topic["terms"].replace("|", " ").split()
        )
    )
    codes = [f"{letter}{code:05d}" for letter in "ABCJKLMN" for code in range(81001, 81061)]
    ranked = list(
        dict.fromkeys(
            common[:40] + topic_words + common[40:] + PLACES + codes + _surnames(TAIL_NAMES)
        )
    )
    general = _Zipf(ranked, exponent=1.1)
    topics = {
        name: _Zipf(topic["terms"].split("|"), exponent=0.6) for name, topic in TOPICS.items()
    }
    return general, topics


def _pick(rng: random.Random, shares: list[tuple[str, float, tuple[str, ...]]]):
    name, _share, people = rng.choices(shares, weights=[s for _, s, _ in shares])[0]
    return name, rng.choice(people)


def _sentence(rng: random.Random, topic: _Zipf, general: _Zipf, words: int) -> list[str]:
    # About a third of a proposal's words are its topic's phrases; the rest is prose.
    drawn: list[str] = []
    while len(drawn) < words:
        if rng.random() < 0.2:
            drawn.extend(topic.draw(rng).split())
        else:
            drawn.append(general.draw(rng))
    if rng.random() < 0.2:
        drawn[rng.randrange(len(drawn))] = str(rng.choice([14, 28, 90, 120, 250, 1200]))
    return drawn


def _prose(rng: random.Random, topic: _Zipf, general: _Zipf, words: int) -> str:
    sentences = []
    while words > 0:
        sentence = _sentence(rng, topic, general, min(words, rng.randint(10, 22)))
        words -= len(sentence)
        text = " ".join(sentence)
        sentences.append(text[:1].upper() + text[1:] + ".")
    return " ".join(sentences)


def idea(number: int, count: int, seed: int = DEFAULT_SEED) -> GeneratedIdea:
    """Idea ``number`` (0-based) of a register of ``count`` ideas made with ``seed``.

    ``count`` only spreads submission times: idea ``n`` is submitted ``n / count`` of
    the way through three years before 2025, and ideas past ``count`` after that.
    """
    rng = random.Random(f"registry-bench:{seed}:{number}")
    general, topics = _vocabulary()
    name = rng.choice(list(TOPICS))
    topic = TOPICS[name]
    terms = topics[name]

    origin = "forum" if rng.random() < FORUM_SHARE else "provider"
    if origin == "forum":
        group, submitter = _pick(rng, GROUPS)
        owner = CCG
    else:
        owner, submitter = _pick(rng, PROVIDERS)
        group = None
    shares = SENSITIVITY_SHARES[origin]
    sensitivity = rng.choices(list(shares), weights=list(shares.values()))[0]

    base = rng.choice(topic["titles"].split("|"))
    place = rng.choice(PLACES) if rng.random() < 0.5 else None
    title = f"{base} in {place.title()}" if place else base
    title = title[:1].upper() + title[1:]
    summary = _prose(rng, terms, general, rng.randint(20, 28))
    body = _prose(rng, terms, general, rng.randint(110, 135))
    tags = topic["tags"].split("|")
    chosen = [tags[0], *rng.sample(tags[1:], rng.randint(0, min(2, len(tags) - 1)))]

    return GeneratedIdea(
        number=number,
        title=title,
        summary=summary,
        body=body,
        tags=tuple(chosen),
        sensitivity=sensitivity,
        origin=origin,
        owner=owner,
        group=group,
        submitter=submitter,
        submitted_at=EPOCH - SPAN + SPAN * (number / max(count, 1)),
        withdrawn=rng.random() < WITHDRAWN_SHARE,
    )


def ideas(count: int, seed: int = DEFAULT_SEED, start: int = 0):
    """Ideas ``start`` .. ``count - 1`` of a register of ``count`` ideas, in order."""
    return (idea(n, count, seed) for n in range(start, count))


def _searchable(phrase: str, skip: set[str]) -> list[str]:
    return [w for w in re.findall(r"\w+", phrase) if w not in skip and len(w) > 2]


def queries(count: int, seed: int = DEFAULT_SEED) -> list[SearchQuery]:
    """``count`` queries of 2 or 3 words, each with one filter, as people would type them.

    The words are one of a topic's phrases, or two of its words, sometimes with a word
    of the common vocabulary the ideas use; the filter is an origin, an owner, a group
    or a sensitivity, so every query both matches words and narrows by a column.
    """
    rng = random.Random(f"registry-bench-queries:{seed}")
    _general, topics = _vocabulary()
    # Function words are left out: nobody searches for them, and PostgreSQL drops them.
    skip = set(COMMON[:40])
    filters = (
        [("origin", "provider"), ("origin", "forum")]
        + [("owner", name) for name, _, _ in PROVIDERS]
        + [("owner", CCG)]
        + [("group", slug) for slug, _, _ in GROUPS]
        + [("sensitivity", s) for s in ("public", "alliance", "commercial")]
    )
    extra = [w for w in dict.fromkeys(COMMON[40:200]) if len(w) > 2]
    made: list[SearchQuery] = []
    while len(made) < count:
        terms = topics[rng.choice(list(TOPICS))]
        words = _searchable(terms.draw(rng), skip)
        if len(words) < 2:
            words += _searchable(terms.draw(rng), skip)
        if len(words) == 2 and rng.random() < 0.3:
            words.append(rng.choice(extra))
        words = list(dict.fromkeys(words))[:3]
        if len(words) < 2:
            continue
        made.append(SearchQuery(tuple(words), rng.choice(filters)))
    return made
