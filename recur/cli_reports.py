"""How ``recur evaluate`` prints its reports: a classifier's, a language model's and a music
model's (torch-free: the figures are computed by the loaded run)."""

from __future__ import annotations

import json
from pathlib import Path

from recur.classify.reports import format_baselines, format_groups, format_report, plot_confusion


def evaluate_classifier(classifier, args) -> None:
    """Print the report on ``args.file`` (or its JSON) and write the confusion matrix beside the
    run."""
    report = classifier.evaluate(args.file, group_by=args.group_by)
    image = Path(classifier.path).parent / f"confusion-{Path(args.file).stem}.png"
    report["confusion_png"] = str(plot_confusion(report, image, Path(args.file).name))
    if args.json:
        print(json.dumps(report))
        return
    print(format_report(report, args.file))
    if "baselines" in report:
        print(format_baselines(report, report["baselines"]))
    if "groups" in report:
        print(format_groups(report["groups"], args.group_by))
    left = [
        f"{report[k]:,} {label}"
        for k, label in (
            ("dropped_by_preprocessing", "dropped by the run's preprocessing"),
            ("unseen_classes", "with classes the run never saw"),
            ("missing_labels", "with an empty label"),
        )
        if report[k]
    ]
    if left:
        print("left out: " + ", ".join(left))
    print(f"confusion matrix: {image}")


def print_language_model_evaluation(result: dict, as_json: bool) -> None:
    """One line of loss, perplexity and bits per character (per event for a MIDI run)."""
    if as_json:
        print(json.dumps(result))
        return
    if "unigram_loss" in result:  # MIDI: per event
        print(
            f"loss {result['loss']:.4f} nats/event, perplexity {result['perplexity']:.3f}, "
            f"{result['bits_per_char']:.4f} bits/event over {result['tokens']:,} events; "
            f"unigram baseline {result['unigram_loss']:.4f} nats/event"
        )
        return
    unknown = f", {result['unknown_tokens']:,} unknown" if result["unknown_tokens"] else ""
    method = {"dynamic": " (dynamic evaluation)", "cache": " (neural cache)"}
    print(
        f"{result['level']} level{method.get(result.get('method', ''), '')}: loss "
        f"{result['loss']:.4f} nats/token, perplexity "
        f"{result['perplexity']:.3f} per token, {result['word_perplexity']:.3f} per word, "
        f"{result['bits_per_char']:.4f} bits/char over {result['tokens']:,} tokens "
        f"({result['words']:,} words, {result['characters']:,} characters"
        f"{unknown})"
    )
