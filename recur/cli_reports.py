"""How ``recur evaluate`` prints a classifier's report (torch-free: the report is computed by the
loaded classifier)."""

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
