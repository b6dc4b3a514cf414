"""The options of ``recur evaluate`` for language models: dynamic evaluation (Krause et al. 2018)
and the neural cache (Grave et al. 2017), both off by default (plain one-stream evaluation)."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option


@dataclass
class EvaluateConfig:
    """How a language model reads the text it is evaluated on."""

    dynamic: bool = option(
        False,
        "dynamic evaluation: after scoring each segment, take a gradient step on it, so the "
        "model adapts to the text as it reads (weights decay back towards the trained ones)",
    )
    dynamic_segment: int = option(
        0, "dynamic evaluation: tokens per segment (0: 20 for word and BPE models, 100 for char)"
    )
    dynamic_lr: float = option(
        1e-3, "dynamic evaluation: step size of the RMS-normalised update (per weight)"
    )
    dynamic_decay: float = option(
        0.02, "dynamic evaluation: share of the way back to the trained weights after each step"
    )
    cache: bool = option(
        False,
        "neural cache: mix the model's prediction with the words that followed similar hidden "
        "states in the recent text",
    )
    cache_size: int = option(2000, "neural cache: how many recent positions it remembers")
    cache_theta: float = option(0.3, "neural cache: sharpness of the hidden-state match")
    cache_lambda: float = option(0.1, "neural cache: weight of the cache in the mixture")
