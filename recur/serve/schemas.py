"""The request bodies the API accepts (pydantic; an unknown field is an error that names it), with
the same defaults as ``recur generate`` (SampleConfig, MusicConfig)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from recur.config.sample_options import SampleConfig

DEFAULTS = SampleConfig()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateRequest(Strict):
    """POST /v1/generate: SampleConfig's fields, a model name and ``stream``."""

    model: str
    prime: str = ""
    length: int = Field(DEFAULTS.length, ge=0)
    num_samples: int = Field(1, ge=1)
    temperature: float = Field(DEFAULTS.temperature, ge=0)
    top_k: int = Field(DEFAULTS.top_k, ge=0)
    top_p: float = Field(DEFAULTS.top_p, gt=0, le=1)
    seed: int | None = None
    stop: str | None = None
    condition: str | None = None
    min_words: int | None = Field(None, ge=0)
    max_words: int | None = Field(None, ge=1)
    unique: bool = False
    beam: int = Field(0, ge=0)
    stream: bool = False


class CompletionRequest(Strict):
    """POST /v1/completions, as OpenAI's: the fields recur uses; the others OpenAI defines are
    accepted at their neutral values only."""

    model: str
    prompt: str | list[str] = ""
    max_tokens: int = Field(16, ge=0)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    n: int = Field(1, ge=1)
    stream: bool = False
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    echo: bool = False
    logprobs: int | None = None
    best_of: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict | None = None
    suffix: str | None = None
    stream_options: dict | None = None


class ClassifyRequest(Strict):
    model: str
    text: str = Field(min_length=1)
    contributions: bool = True


class InspectRequest(Strict):
    model: str
    text: str = Field(min_length=1, max_length=20_000)


class MusicRequest(Strict):
    model: str
    seconds: float = Field(20.0, gt=0, le=600)
    temperature: float = Field(1.0, ge=0)
    top_k: int = Field(0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = None
    tempo: float | None = Field(None, gt=0)


class SeriesRequest(Strict):
    """POST /v1/series: values (one number per step, or a list per step for several channels);
    a forecaster also takes the horizon, sample paths, seed and covariates (history + horizon
    steps)."""

    model: str
    values: list[float | list[float]] = Field(min_length=1, max_length=100_000)
    horizon: int | None = Field(None, ge=1, le=10_000)
    paths: int | None = Field(None, ge=1, le=10_000)
    seed: int = 0
    covariates: list[float | list[float]] | None = None
