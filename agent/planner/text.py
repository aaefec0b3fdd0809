"""Question text → normalised tokens: lower case, punctuation gone, small typos corrected.

Typos are corrected only towards words the planner knows (its cue words, month and weekday names,
and the vocabulary's values), only for alphabetic tokens of four letters or more that are not
ordinary English words, and only to a candidate with the same first letter — so "paymnets" reads
as "payments" and "forcast" as "forecast", while "pending" never turns into "spending".
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_CHARS = 2000  # a question longer than this is cut (and said so); nobody asks in essays
FUZZY_CUTOFF = 0.8

_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2019": "'", "\u2018": "'"})
_DROP = re.compile(r"[^a-z0-9\-./_'\s]")
_POSSESSIVE = re.compile(r"(?<=\w)'s\b")  # "search's" → "search"; "payments'" loses its ' later
_EDGE = "-./_'"


def _words(text: str) -> frozenset[str]:
    """A word list written as running text (easier to read and extend than a literal)."""
    return frozenset(text.split())


# Words the planner reads as cues (intents, periods, dimensions, numbers). Typos are corrected
# towards these; they are never corrected away from themselves.
CUE_WORDS: frozenset[str] = _words(
    """
    spend spent spends spending cost costs costing costed bill bills billing billed charge charges charged
    expense expenses expensive cheap cheaper cheapest money dollars total totals overall invoice invoiced
    usage price prices pricing paid pay paying amount breakdown split grouped group each every across top
    biggest largest highest most least lowest smallest why what which who where when how much many change
    changed changes changing increase increased increases decrease decreased decreases drop dropped drops
    rise rose risen jump jumped jumps spike spiked spikes spiking grow grew grown growth climb climbed
    double doubled movers mover moved compare compared comparison versus delta difference trend trending
    anomaly anomalies anomalous unusual outlier outliers abnormal unexpected strange weird odd surprise
    surprising forecast forecasts forecasting forecasted projection project projected predict predicted
    prediction expected expect estimate estimated going will track budget budgets overspend overrun burn
    burning rightsize rightsizing right-size right-sizing rightsized oversized overprovisioned
    over-provisioned underutilized underused requests limits recommendation recommendations savings save
    saving reduce optimize optimise optimization waste wasted wasting idle unused zombie scale asleep
    inactive unit tokens token request requests call calls thousand million per model models cheaper
    switch downgrade smaller alternative untagged unlabeled unlabelled unallocated unattributed tagged
    labels labelled labeled tags owner proposal proposals pending awaiting waiting approval approvals
    approve approved reject rejected blocked expired superseded status state pull open opened merged
    scaled scaling scales sized sizes reduced reducing cutting lowered lowering saved
    merge merging reject rejecting decline deny deploy execute revert scan scans delete create opening
    help commands options hello hi hey yesterday today tomorrow week weeks weekly month months monthly
    quarter quarters quarterly year years yearly daily days day since between from through until last
    past previous prior this current next ago fortnight weekend date january february march april may june
    july august september october november december monday tuesday wednesday thursday friday saturday
    sunday team teams environment environments env envs service services provider providers cloud clouds
    vendor vendors region regions account accounts subscription subscriptions project projects feature
    features category categories namespace namespaces workload workloads deployment deployments day
    excluding except without exclude only just also same instead break down drill explain reason caused
    drove driving driver drivers responsible behind first second third fourth one two three four five
    six seven eight nine ten eleven twelve fifteen twenty thirty sixty ninety hundred couple few
    production development staging nonprod non-prod gpu llm llms machine learning compute storage
    database databases network networking analytics kubernetes serverless
    """
)

# Ordinary English words that are neither cues nor values: never "corrected" into something else.
COMMON_WORDS: frozenset[str] = _words(
    """
    about above after again against also always another anything anyone around asked away back
    because been before being below best better both bring call came can cannot come could does doing
    done down during either else enough even ever everything exactly fine following give given goes
    good great have having here hers high into itself keep kind know known large later least left less
    like likely little long look looking looks made make makes making many maybe mean means might mine
    more most much must near need needs never nothing notice number often once other others ought over
    own part people perhaps place please point possible quite rather really right said saying says
    second seem seems seen send sending sent show shows shown side since some something sometimes soon
    sort still such sure take taken tell tells than thank thanks that their them then there these they
    thing things think those though thought time times today together told took toward under unless
    upon used using very want wanted wants well went were what whatever when where whether which while
    whom whose will with within without would write wrote your yours yourself ignore ignored previous
    instructions instruction everything system prompt assistant pretend role admin password secret
    secrets token weather poem poems joke jokes song story recipe haiku limerick ceo stock stocks
    capital translate funny lunch dinner football soccer movie movies music news email emails logging
    logs pending spending sending ending trending lending tending bending mending
    vending rending really reading ready reply replies answer answers question questions please
    latest recent recently earlier later sometime anyway overall simply show list give tell find fetch
    mode modes developer developers node nodes code data base cash user users case line free plan plans
    rate rates item items goal task tasks note notes file files table tables window person people
    average aggregate basis whole entire core big small new old member members owns own owned run runs running
    look happen happened happening going gone gets getting still actual actually real value values
    """
)

STOPWORDS: frozenset[str] = _words(
    """
    a an the and or of in on at to for by with from is are was were be been being am do does did done
    it its it's this that these those there their them they we our us you your i me my mine he she his
    her what which who whom how much many so as if then than too very can could would should will shall
    may might must please pls plz show tell give list get let lets me about any some all just only also
    up down out over under again there here now ok okay hey hi thanks thank you yes no not
    """
)


@dataclass
class Tokens:
    """The question as tokens, plus how typos were read (for the plan's notes)."""

    words: list[str]
    raw: list[str] = field(default_factory=list)  # before typo correction
    corrections: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.words)


def _clean_token(token: str) -> str:
    # Sentence punctuation around a token goes; a range's ".." and a version's "4.1" inside stay.
    return token.strip(_EDGE)


def normalise(question: str) -> tuple[list[str], bool]:
    """Lower-cased tokens of ``question``; hyphens, dots and slashes inside a token are kept."""
    truncated = len(question) > MAX_CHARS
    text = unicodedata.normalize("NFKC", question[:MAX_CHARS]).translate(_DASHES).lower()
    text = _POSSESSIVE.sub("", text)
    text = _DROP.sub(" ", text)
    words: list[str] = []
    for raw in text.split():
        if raw in {"-", "--"}:
            words.append("to")  # "Oct 1 - Oct 14": a dash between two dates reads as "to"
            continue
        token = _clean_token(raw).replace("'", "")
        if token:
            words.append(token)
    return words, truncated


class Lexicon:
    """Known words bucketed by first letter, for typo correction (difflib)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.known: frozenset[str] = frozenset(words) | CUE_WORDS | COMMON_WORDS | STOPWORDS
        buckets: dict[str, list[str]] = {}
        for word in sorted(frozenset(words) | CUE_WORDS):
            if len(word) >= 4 and not any(ch.isdigit() for ch in word):
                buckets.setdefault(word[0], []).append(word)
        self._buckets = buckets
        self._cache: dict[str, str | None] = {}

    def correct(self, token: str) -> str | None:
        """The known word ``token`` is a typo of, or None (unknown or already known)."""
        if token in self._cache:
            return self._cache[token]
        found: str | None = None
        if len(token) >= 4 and token not in self.known and not any(ch.isdigit() for ch in token):
            candidates = [w for w in self._buckets.get(token[0], ()) if abs(len(w) - len(token)) <= 2]
            close = difflib.get_close_matches(token, candidates, n=1, cutoff=FUZZY_CUTOFF)
            found = close[0] if close else None
        if len(self._cache) < 10_000:  # arbitrary text must not grow the cache without bound
            self._cache[token] = found
        return found


def tokenise(question: str, lexicon: Lexicon) -> Tokens:
    """Normalise ``question`` and correct typos towards ``lexicon``."""
    words, truncated = normalise(question)
    corrections: list[tuple[str, str]] = []
    out: list[str] = []
    for word in words:
        fixed = lexicon.correct(word)
        if fixed is not None:
            corrections.append((word, fixed))
            out.append(fixed)
        else:
            out.append(word)
    return Tokens(words=out, raw=words, corrections=corrections, truncated=truncated)
