"""The options of ``recur export``: the format, the folder, int8 weights and the check against
PyTorch (ExportConfig)."""

from __future__ import annotations

from dataclasses import dataclass

from recur.config.fields import option

FORMATS = ("onnx",)


@dataclass
class ExportConfig:
    """Settings for ``recur export``."""

    format: str = option("onnx", "the file format of the exported graph", choices=FORMATS)
    out: str | None = option(None, "the folder to write (default: RUN/export-onnx)")
    int8: bool = option(
        False, "int8 weights (onnxruntime's dynamic quantiser): a smaller, faster graph"
    )
    rnn_only: bool = option(
        False,
        "classifiers trained with --blend tfidf: export the recurrent classifier alone (the "
        "TF-IDF model has no ONNX form)",
    )
    check_tokens: int = option(
        20_000,
        "validation tokens read to compare the graph with PyTorch and, with --int8, to "
        "measure the perplexity change",
    )
    tolerance: float = option(
        1e-4, "the largest logit difference from PyTorch an fp32 graph may show"
    )
