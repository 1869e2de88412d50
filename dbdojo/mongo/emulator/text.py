"""``$text`` search as MongoDB scores it (the emulator: mongoeco 4.11 neither stems nor drops
stop words, and scores its own way).

MongoDB (https://www.mongodb.com/docs/manual/core/link-text-indexes/ and
https://www.mongodb.com/docs/manual/reference/operator/query/text/): the text of each indexed
field is split into words (letters and digits; case and diacritics folded, text index
version 3), English stop words are dropped and the rest stemmed with the Snowball English
stemmer. A document matches when it holds any of the search's terms (and every quoted phrase,
and none of the ``-negated`` terms). Its ``textScore`` is computed as MongoDB's source does
(``FTSSpec::_scoreStringV2``, src/mongo/db/fts/fts_spec.cpp): for each indexed field with
weight *w* and *n* kept words, a term seen *c* times there scores

    w * (1 + 1/2 + ... + 1/2**(c-1)) * (0.5 * c / n + 0.5) * (1.1 if the whole field is that
    term else 1)

summed over the fields, and a document's score is the sum over the search's distinct terms.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

# MongoDB's English stop words (src/mongo/db/fts/stop_words_english.txt)
_ENGLISH_STOP_WORDS = """a about above after again against all am an and any are aren't as at be
    because been
    before being below between both but by can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves"""
STOP_WORDS = frozenset(_ENGLISH_STOP_WORDS.split())
WORD = re.compile(r"[^\W_]+")
PHRASE = re.compile(r'"([^"]*)"')


@functools.cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Lower case without diacritics (``Crème`` -> ``creme``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def terms(text: str) -> list[str]:
    """The stemmed terms of ``text`` an English text index stores, in order."""
    words = [w for w in WORD.findall(fold(text)) if w not in STOP_WORDS]
    return list(_stemmer().stemWords(words))


def field_scores(text: str, weight: float) -> dict[str, float]:
    """Each term's score in one field (the formula in the module docstring)."""
    found = terms(text)
    counts: dict[str, int] = {}
    for term in found:
        counts[term] = counts.get(term, 0) + 1
    scores = {}
    for term, count in counts.items():
        frequency = sum(1 / 2**k for k in range(count))
        coefficient = 0.5 * count / len(found) + 0.5
        boost = 1.1 if text.lower() == term else 1.0
        scores[term] = weight * frequency * coefficient * boost
    return scores


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _field_values(doc: Any, path: str) -> list[str]:
    value = doc
    for part in path.split("."):
        if isinstance(value, list):
            value = [v.get(part) for v in value if isinstance(v, dict)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return []
    return _strings(value)


def _all_strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [s for key, v in doc.items() if key != "_id" for s in _all_strings(v)]
    return _strings(doc) if not isinstance(doc, list) else [s for v in doc for s in _all_strings(v)]


class TextIndex:
    """A collection's text index: its fields and weights (from ``listIndexes``)."""

    def __init__(self, index: dict[str, Any]) -> None:
        key = dict(index["key"])
        weights = {k: float(v) for k, v in dict(index.get("weights") or {}).items()}
        fields = [f for f, kind in key.items() if kind == "text" and f not in ("_fts", "_ftsx")]
        self.weights = {f: weights.get(f, 1.0) for f in fields} | weights
        self.wildcard = "$**" in self.weights

    @staticmethod
    def of(indexes: list[dict[str, Any]]) -> TextIndex | None:
        for index in indexes:
            if "text" in dict(index["key"]).values():
                return TextIndex(index)
        return None

    def scores(self, doc: Any) -> tuple[dict[str, float], str]:
        """(term -> score, the document's folded indexed text for phrase matching)."""
        total: dict[str, float] = {}
        texts = []
        fields = dict(self.weights)
        wildcard = fields.pop("$**", None)
        pieces = [(t, w) for f, w in fields.items() for t in _field_values(doc, f)]
        if wildcard is not None:
            pieces += [(t, wildcard) for t in _all_strings(doc)]
        for text, weight in pieces:
            texts.append(fold(text))
            for term, score in field_scores(text, weight).items():
                total[term] = total.get(term, 0.0) + score
        return total, "\n".join(texts)


class Search:
    """A ``$text: {$search: ...}`` string: its terms, phrases and negated terms."""

    def __init__(self, search: str) -> None:
        self.phrases = [fold(p) for p in PHRASE.findall(search)]
        rest = PHRASE.sub(" ", search)
        negated = [w[1:] for w in rest.split() if w.startswith("-")]
        positive = [w for w in rest.split() if not w.startswith("-")]
        self.negated = {t for w in negated for t in terms(w)}
        self.terms = list(dict.fromkeys(t for w in positive for t in terms(w)))
        self.terms += [t for p in self.phrases for t in terms(p) if t not in self.terms]

    def score(self, index: TextIndex, doc: Any) -> float | None:
        """The document's textScore, or None if it does not match."""
        scores, text = index.scores(doc)
        if not any(t in scores for t in self.terms):
            return None
        if any(t in scores for t in self.negated) or any(p not in text for p in self.phrases):
            return None
        return sum(scores.get(t, 0.0) for t in self.terms)


SCORE = "__dojo_text_score"
META = {"$meta": "textScore"}


def with_score_field(stages: list[Any]) -> list[Any]:
    """Later stages with ``{$meta: "textScore"}`` read from the field holding the score."""

    def replace(value: Any, in_sort: bool = False) -> Any:
        if value == META:
            return -1 if in_sort else f"${SCORE}"
        if isinstance(value, list):
            return [replace(v) for v in value]
        if isinstance(value, dict):
            if in_sort:
                return {(SCORE if v == META else k): replace(v, True) for k, v in value.items()}
            return {k: replace(v, k == "$sort") for k, v in value.items()}
        return value

    return [replace(stage) for stage in stages]
