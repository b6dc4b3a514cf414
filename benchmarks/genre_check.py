"""Acceptance check for conditional lyrics: do generated songs read as their genre?

    python -m benchmarks.genre_check RUN [--train derived/lyrics3_train.csv] [--songs 30]

Trains a TF-IDF (word 1-2-grams + character 2-5-grams) + logistic-regression classifier on the
training songs, reports its accuracy on lyrics3_test.csv as a sanity figure, then generates
``--songs`` complete songs per genre with ``recur generate --condition genre=G`` and reports the
share the classifier labels as G. Needs scikit-learn (not a dependency of recur itself).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "derived"


def read(path: Path) -> tuple[list[str], list[str]]:
    csv.field_size_limit(1 << 30)
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    return [r["lyrics"] for r in rows], [r["genre"] for r in rows]


def classifier(texts: list[str], labels: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True),
    )
    return make_pipeline(features, LogisticRegression(max_iter=2000)).fit(texts, labels)


def judge(
    run, model, genre, genres, songs, length, temperature, seed, top_p=1.0, guidance=0.0
) -> dict:
    """Generate ``songs`` songs of ``genre`` and count how the classifier labels them."""
    result = run.generate_full(
        num_samples=songs,
        condition=f"genre={genre}",
        length=length,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        guidance=guidance,
    )
    predicted = model.predict(result.texts).tolist()
    return {
        "share_labelled_as_genre": predicted.count(genre) / len(predicted),
        "labels": {g: predicted.count(g) for g in genres},
        "novel_share": result.novelty["novel_share"],
        "mean_characters": round(sum(map(len, result.texts)) / len(result.texts)),
        "example": result.texts[0][:300],
    }


def summary(report: dict, setting: str) -> str:
    shares = {genre: result["share_labelled_as_genre"] for genre, result in report[setting].items()}
    lengths = [result["mean_characters"] for result in report[setting].values()]
    return (
        f"{setting}: "
        + ", ".join(f"{g} {s:.0%}" for g, s in shares.items())
        + f"; lowest {min(shares.values()):.0%} (bar: 70%); mean characters {lengths}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--train", default=str(DATA / "lyrics3_train.csv"))
    parser.add_argument("--test", default=str(DATA / "lyrics3_test.csv"))
    parser.add_argument("--songs", type=int, default=30)
    parser.add_argument("--length", type=int, default=3000, help="most characters per song")
    parser.add_argument(
        "--temperature", type=float, nargs="+", default=[0.8], help="one report per temperature"
    )
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling threshold")
    parser.add_argument(
        "--guidance",
        type=float,
        nargs="+",
        default=[0.0],
        help="one report per guidance weight (recur generate --guidance)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    import recur

    started = time.perf_counter()
    model = classifier(*read(Path(args.train)))
    test_texts, test_labels = read(Path(args.test))
    predicted = model.predict(test_texts).tolist()
    accuracy = sum(p == t for p, t in zip(predicted, test_labels)) / len(test_labels)
    run = recur.load(args.run)
    genres = list(run.bundle.config["data"]["conditions"]["genre"])
    # The same share for real test songs: the classifier's recall per genre.
    recall = {
        g: round(
            sum(p == t == g for p, t in zip(predicted, test_labels)) / max(test_labels.count(g), 1),
            3,
        )
        for g in genres
    }
    report = {
        "classifier_test_accuracy": round(accuracy, 4),
        "real_test_songs_share": recall,
        "top_p": args.top_p,
    }
    settings = [f"temperature {t}, guidance {g}" for g in args.guidance for t in args.temperature]
    for guidance in args.guidance:
        for temperature in args.temperature:
            report[f"temperature {temperature}, guidance {guidance}"] = {
                genre: judge(
                    run,
                    model,
                    genre,
                    genres,
                    args.songs,
                    args.length,
                    temperature,
                    args.seed + genres.index(genre),
                    args.top_p,
                    guidance,
                )
                for genre in genres
            }
            print(
                summary(report, f"temperature {temperature}, guidance {guidance}"),
                file=sys.stderr,
                flush=True,
            )
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    for setting in settings:
        print(summary(report, setting), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
