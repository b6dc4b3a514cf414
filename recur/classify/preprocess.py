"""Classifier preprocessing: the rules a run records in ``config.json`` and applies again at
evaluation and prediction.

Per text: lower-casing, line ends kept or turned into spaces, placeholder texts dropped
(``--drop-text instrumental``), a language filter, truncation of the token ids (head, or head and
tail). Over the training set: classes with fewer than ``--min-class-count`` rows are dropped.
Each rule counts what it removed, for the training summary.

The language detector is deliberately simple and documented: for each of English, Spanish,
French, German, Portuguese and Italian it counts how many *different* words of a list of about 30
common function words occur in the text (words shared with English left out of the others;
counting different words keeps a chorus of "la la la" from making a song Spanish). The language
with the most wins if it has at least 3 and more than any other; otherwise, and for texts under 8
words, it cannot tell and the row is kept. ``--language en`` drops rows judged to be another
language.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from recur.errors import RecurError

FUNCTION_WORDS = {
    "en": "the of and to a in is it you that he was for on are with as i his they be at have "
    "this from or had by but what we my me your not",
    "es": "de la que el en y los se del las un por con una su para es al lo como más pero sus "
    "yo tu mi te porque esta está cuando muy sin",
    "fr": "de la le et les des en du un une est que pour qui dans pas sur au avec ce il je tu "
    "nous vous elle mais ou où moi toi",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als "
    "auch es an ich du wir ihr sie mir dich",
    "pt": "de a o que e do da em um para é com não uma os no se na por mais as dos como mas "
    "eu você meu minha",
    "it": "di e il la che è per un in non una sono mi si ho lo ma ha le io tu del della con "
    "sei ti mio",
}
STOP_WORDS = {language: set(words.split()) for language, words in FUNCTION_WORDS.items()}
for _language in STOP_WORDS:
    if _language != "en":
        STOP_WORDS[_language] -= STOP_WORDS["en"] | {"a", "no", "so", "me", "die", "come"}
MIN_WORDS_TO_JUDGE = 8
MIN_DISTINCT = 3


def detect_language(text: str) -> str | None:
    """The language with the most different function words in ``text`` (at least 3, and more
    than any other language), or None when the text is too short or it cannot tell."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < MIN_WORDS_TO_JUDGE:
        return None
    types = set(words)
    found = sorted(
        ((len(types & stop), language) for language, stop in STOP_WORDS.items()), reverse=True
    )
    (best, language), (second, _) = found[0], found[1]
    return language if best >= MIN_DISTINCT and best > second else None


class Preprocessor:
    """The per-text rules of a ``ClassifierConfig`` (plus ``DataConfig.lowercase``)."""

    def __init__(self, classifier, lowercase: bool):
        if classifier.language and classifier.language not in STOP_WORDS:
            raise RecurError(
                f"--language {classifier.language!r}: the detector knows {', '.join(STOP_WORDS)}"
            )
        self.lowercase, self.newlines = lowercase, classifier.newlines
        self.placeholders = {
            p.strip().lower() for p in classifier.drop_text.split(",") if p.strip()
        }
        self.language = classifier.language
        self.max_tokens, self.truncate = classifier.max_tokens, classifier.truncate

    def clean(self, text: str) -> str:
        text = text.replace("\r\n", "\n")
        if self.newlines == "space":
            text = re.sub(r"[ \t]*\n[\s]*", " ", text)
        return text.lower() if self.lowercase else text

    def drop_reason(self, text: str) -> str | None:
        """Why a text would be dropped (``empty``, ``placeholder``, ``not en``), or None."""
        bare = text.strip()
        if not bare:
            return "empty"
        if re.sub(r"[\W_]+", " ", bare.lower()).strip() in self.placeholders:
            return "placeholder"
        if self.language and detect_language(bare) not in (None, self.language):
            return f"not {self.language}"
        return None

    def cut(self, ids: np.ndarray) -> np.ndarray:
        """Truncate to ``max_tokens``: the head, or the first and last halves."""
        if not self.max_tokens or len(ids) <= self.max_tokens:
            return ids
        if self.truncate == "head":
            return ids[: self.max_tokens]
        head = (self.max_tokens + 1) // 2
        return np.concatenate([ids[:head], ids[len(ids) - (self.max_tokens - head) :]])


def apply_rules(examples, preprocessor: Preprocessor) -> tuple[list[int], Counter]:
    """Indices of the examples that pass the per-text rules, and removals counted by rule."""
    kept: list[int] = []
    removed: Counter = Counter()
    for index, text in enumerate(examples.texts):
        reason = preprocessor.drop_reason(text)
        if reason:
            removed[reason] += 1
        else:
            kept.append(index)
    return kept, removed


def rare_classes(labels: list, minimum: int) -> dict:
    """Classes with fewer than ``minimum`` rows, with their counts."""
    counts = Counter(labels)
    return {label: n for label, n in sorted(counts.items()) if n < minimum}


def distribution(labels: list) -> str:
    counts = Counter(labels)
    total = max(sum(counts.values()), 1)
    return ", ".join(f"{label} {n:,} ({n / total:.0%})" for label, n in counts.most_common())
