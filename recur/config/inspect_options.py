"""The options of ``recur inspect``: what the report shows and how much of it the HTML carries."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option


@dataclass
class InspectConfig:
    """Settings for ``recur inspect``."""

    top_units: int = option(5, "units listed per feature, per class and per condition")
    max_values: int = option(
        4_000_000,
        "unit activations the HTML carries (tokens x units, one byte each): every unit when "
        "the text is short enough, else the discovered units, the first of each layer, --units",
    )
    units: str = option(
        "",
        "more units to carry in the HTML's unit browser: LAYER:STATE:UNIT, comma-separated "
        "(for example 1:c:17,0:h:3; STATE is h, or c for an LSTM's cell)",
    )
    saturation: float = option(
        0.1,
        "a gate counts as left-saturated below this value and right-saturated above 1 minus it "
        "(Karpathy, Johnson and Fei-Fei 2015 use 0.1)",
    )
    max_chars: int = option(200_000, "longest text inspected (characters); longer texts are cut")
    deletions: int = option(
        3, "classifiers: words deleted by the faithfulness check (top-ranked against random)"
    )
