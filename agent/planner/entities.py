"""Words → filter values that the warehouse actually holds (never invented ones).

A value matches when the question contains it (case-insensitive, hyphens or spaces, "gpt 4o" for
"gpt-4o"), a typo of it (corrected in ``text``), or an alias: provider service names ("EC2" →
whichever service value contains "Elastic Compute Cloud"), categories ("AI", "LLM" → the value
containing "AI and Machine Learning"), environments ("production" → prod, "non-prod" → every
env but prod) and model families ("claude" → every claude model). A word that could be two
dimensions goes to the one a neighbouring word names ("the search team", "feature login"), else
to the first of ``DIM_PRIORITY``. An alias whose service is not in the data, or a name next to a
dimension word that matches nothing ("the marketing team"), becomes a note and is never a filter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.planner.aliases import ALIASES, Alias
from agent.planner.models import Vocabulary
from agent.planner.text import COMMON_WORDS, CUE_WORDS, STOPWORDS, normalise

UNTAGGED_VALUE = "(untagged)"  # handled by the untagged intent, never matched as a word
DIM_PRIORITY: tuple[str, ...] = (
    "team",
    "env",
    "provider",
    "category",
    "service",
    "model",
    "feature",
    "account",
    "region",
    "namespace",
    "workload",
)
# Words next to a value that say which dimension it is.
DIM_CONTEXT: dict[str, str] = {
    **dict.fromkeys(("team", "teams", "squad"), "team"),
    **dict.fromkeys(("env", "envs", "environment", "environments"), "env"),
    **dict.fromkeys(("service", "services"), "service"),
    **dict.fromkeys(("feature", "features"), "feature"),
    **dict.fromkeys(("model", "models"), "model"),
    **dict.fromkeys(("namespace", "namespaces", "ns"), "namespace"),
    **dict.fromkeys(("workload", "workloads", "deployment", "deployments", "statefulset"), "workload"),
    **dict.fromkeys(("account", "accounts", "subscription", "subscriptions", "project"), "account"),
    **dict.fromkeys(("region", "regions"), "region"),
    **dict.fromkeys(("provider", "providers", "cloud", "vendor"), "provider"),
    **dict.fromkeys(("category", "categories"), "category"),
}
_NEGATIONS = frozenset(
    {"excluding", "except", "exclude", "without", "not", "besides", "minus", "outside", "but"}
)
_INTRODUCERS = frozenset(
    {
        "for",
        "of",
        "on",
        "did",
        "does",
        "do",
        "has",
        "is",
        "was",
        "by",
        "from",
        "to",
        "about",
        "and",
        "with",
        "in",
    }
)
_CHAIN = frozenset({"and", "or", "nor", "the", "for", "of", "than", "other"})


@dataclass(frozen=True)
class Candidate:
    dim: str
    values: tuple[str, ...]  # empty: an alias whose target is not in the data
    alias: str | None = None  # the label of the alias that produced it


@dataclass
class EntityMatch:
    dim: str
    values: list[str]
    words: str  # as written (normalised)
    start: int  # token positions [start, end)
    end: int
    alias: str | None = None
    negated: bool = False


@dataclass
class EntityResult:
    matches: list[EntityMatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmatched: bool = False  # something was scoped that the data does not hold


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text)


def _resolve(patterns: Sequence[str], values: Sequence[str]) -> tuple[str, ...]:
    for pattern in patterns:
        if pattern.startswith("="):
            found = tuple(v for v in values if v.lower() == pattern[1:])
        elif pattern.startswith("!"):
            found = tuple(v for v in values if pattern[1:] not in v.lower() and v != UNTAGGED_VALUE)
        else:
            found = tuple(v for v in values if pattern in v.lower())
        if found:
            return found
    return ()


class VocabIndex:
    """Phrases (token strings) of every vocabulary value and alias → candidates."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.values = {
            dim: [v for v in vals if v != UNTAGGED_VALUE] for dim, vals in vocabulary.values.items()
        }
        self.phrases: dict[str, list[Candidate]] = {}
        self.compact: dict[str, list[Candidate]] = {}
        self.words: set[str] = set()
        for dim, vals in self.values.items():
            for value in vals:
                tokens, _ = normalise(value)
                if not tokens:
                    continue
                self._add(" ".join(tokens), Candidate(dim, (value,)))
                if dim not in ("namespace", "workload"):  # "search api" is team + word, not a workload
                    spaced = " ".join(" ".join(tokens).replace("-", " ").replace("_", " ").split())
                    self._add(spaced, Candidate(dim, (value,)))
                key = _compact(" ".join(tokens))
                if len(key) >= 4 and dim not in ("namespace", "workload"):
                    self.compact.setdefault(key, []).append(Candidate(dim, (value,)))
                for token in tokens:
                    self.words.add(token)
                    self.words.update(part for part in re.split(r"[-_]", token) if len(part) >= 4)
        for alias in ALIASES:
            candidate = self._alias_candidate(alias)
            if candidate is None:
                continue
            for phrase in alias.phrases:
                tokens, _ = normalise(phrase)
                self._add(" ".join(tokens), candidate)
        self.max_tokens = max((len(p.split()) for p in self.phrases), default=1)

    def _alias_candidate(self, alias: Alias) -> Candidate | None:
        for dim, patterns in alias.targets:
            found = _resolve(patterns, self.values.get(dim, []))
            if found:
                return Candidate(dim, found, alias.label)
        return Candidate(alias.targets[0][0], (), alias.label) if alias.strict else None

    def _add(self, phrase: str, candidate: Candidate) -> None:
        bucket = self.phrases.setdefault(phrase, [])
        if candidate not in bucket:
            bucket.append(candidate)

    def lookup(self, words: Sequence[str]) -> list[Candidate] | None:
        phrase = " ".join(words)
        found = self.phrases.get(phrase)
        if found is None and len(words) <= 3:
            key = _compact(phrase)
            found = self.compact.get(key) if len(key) >= 4 else None
        return found


def _context_dim(words: Sequence[str], start: int, end: int, dims: set[str]) -> str | None:
    neighbours = [words[end]] if end < len(words) else []
    if start > 0:
        neighbours.append(words[start - 1])
    for word in neighbours:
        dim = DIM_CONTEXT.get(word)
        if dim in dims:
            return dim
    return None


def _pick(candidates: list[Candidate], words: Sequence[str], start: int, end: int) -> Candidate | None:
    dims = {c.dim for c in candidates}
    context = _context_dim(words, start, end, dims)
    phrase = " ".join(words[start:end])
    if context is None and end - start == 1 and phrase in (STOPWORDS | COMMON_WORDS):
        return None  # "other", "login": an ordinary word is a value only when a dimension word says so
    chosen = context or min(dims, key=lambda d: DIM_PRIORITY.index(d) if d in DIM_PRIORITY else 99)
    same = [c for c in candidates if c.dim == chosen]
    values = tuple(dict.fromkeys(v for c in same for v in c.values))
    alias = next((c.alias for c in same if c.alias), None)
    return Candidate(chosen, values, alias)


def _negated(words: Sequence[str], start: int, previous: EntityMatch | None) -> bool:
    back = start - 1
    while back >= 0 and words[back] in _CHAIN:
        back -= 1
    if back >= 0 and words[back] in _NEGATIONS:
        return True
    # "excluding prod and staging": the negation runs on through "and"/"or".
    return previous is not None and previous.negated and all(w in _CHAIN for w in words[previous.end : start])


def match_entities(words: Sequence[str], consumed: Sequence[bool], index: VocabIndex) -> EntityResult:
    """Vocabulary values named in ``words`` (tokens not ``consumed`` by periods or breakdowns)."""
    result = EntityResult()
    i = 0
    while i < len(words):
        if consumed[i]:
            i += 1
            continue
        hit: tuple[int, Candidate] | None = None
        for n in range(min(index.max_tokens, len(words) - i), 0, -1):
            if any(consumed[i : i + n]):
                continue
            found = index.lookup(words[i : i + n])
            if found:
                picked = _pick(found, words, i, i + n)
                if picked is not None:
                    hit = (n, picked)
                    break
        if hit is None:
            i += 1
            continue
        n, candidate = hit
        previous = result.matches[-1] if result.matches else None
        match = EntityMatch(
            dim=candidate.dim,
            values=list(candidate.values),
            words=" ".join(words[i : i + n]),
            start=i,
            end=i + n,
            alias=candidate.alias,
            negated=_negated(words, i, previous),
        )
        result.matches.append(match)
        i += n
    for match in result.matches:
        if not match.values:
            result.notes.append(f"{match.words!r} ({match.alias}) is not in the data; not used as a filter")
            result.unmatched = True
        elif match.alias and [match.words] != [v.lower() for v in match.values]:
            shown = ", ".join(repr(v) for v in match.values)
            result.notes.append(f"matched {match.words!r} to {match.dim} {shown}")
    return result


def unmatched_names(
    words: Sequence[str], consumed: Sequence[bool], matched: Sequence[EntityMatch], known: frozenset[str]
) -> list[tuple[str, str]]:
    """(dimension, word) for a name beside a dimension word that matched nothing ("team foobar")."""
    taken = [False] * len(words)
    for m in matched:
        for j in range(m.start, m.end):
            taken[j] = True
    out: list[tuple[str, str]] = []
    for j, word in enumerate(words):
        dim = DIM_CONTEXT.get(word)
        if dim is None or consumed[j] or taken[j]:
            continue
        # "the marketing team" names a team by the word before; "team foobar" only reads as a name
        # after a word that introduces one ("for team foobar", "did team foobar spend").
        after = j == 0 or words[j - 1] in _INTRODUCERS
        for k in (j - 1, j + 1) if after else (j - 1,):
            if not 0 <= k < len(words) or consumed[k] or taken[k]:
                continue
            other = words[k]
            if (
                other in known
                or other in DIM_CONTEXT
                or other in CUE_WORDS
                or len(other) < 2
                or not re.search("[a-z]", other)
            ):
                continue
            out.append((dim, other))
            break
    return out


_SCOPE_PREPOSITIONS = frozenset({"on", "for", "in", "from", "at"})
_DETERMINERS = frozenset({"the", "our", "my", "a", "an", "all", "their", "its", "this", "that"})


def stray_values(
    words: Sequence[str], consumed: Sequence[bool], matched: Sequence[EntityMatch], known: frozenset[str]
) -> list[str]:
    """Unknown words where a scope goes ("spend on unicorns"): they match nothing in the data."""
    taken = {j for m in matched for j in range(m.start, m.end)}
    out = []
    for j, word in enumerate(words):
        if word not in _SCOPE_PREPOSITIONS or consumed[j]:
            continue
        k = j + 1
        while k < len(words) and words[k] in _DETERMINERS:
            k += 1
        if k >= len(words) or consumed[k] or k in taken:
            continue
        other = words[k]
        if (
            other in known
            or other in DIM_CONTEXT
            or other in CUE_WORDS
            or not re.fullmatch(r"[a-z][a-z-]+", other)
        ):
            continue
        out.append(other)
    return out
