"""Labels for a CSV file's rows from a `recur export` folder of a classifier, with onnxruntime and
numpy alone (no recur, no torch).

    python onnx_classify.py EXPORT_DIR test.csv

prints one predicted label per row, the labels `recur predict RUN test.csv` writes in its
`predicted` column (rows that recur's --drop-text or --language rules would skip are predicted
here too). The text is cleaned, encoded and cut as the run's config.json says.
"""

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np
import onnxruntime
from onnx_generate import Tokens


def texts_of(path: Path, data: dict, classifier: dict) -> list:
    """Each row's text: its --text-column values joined by --separator, as in training."""
    with path.open(encoding=data.get("encoding", "utf-8"), newline="") as file:
        rows = list(csv.DictReader(file))
    names = [c.strip() for c in (data.get("text_column") or "").split(",") if c.strip()]
    if not names:  # the one column left besides the label (and group) columns
        skip = (classifier.get("label_column"), classifier.get("group_by"))
        names = [c for c in rows[0] if c not in skip] if rows else []
    separator = data.get("separator", "\\n").replace("\\n", "\n").replace("\\t", "\t")
    return [separator.join(row[c] for c in names if (row.get(c) or "").strip()) for row in rows]


def token_ids(text: str, tokens: Tokens, data: dict, classifier: dict) -> list:
    """Cleaned (line ends, lower case), encoded (unknown: <unk>) and cut (--max-tokens)."""
    text = text.replace("\r\n", "\n")
    if classifier["newlines"] == "space":
        text = re.sub(r"[ \t]*\n[\s]*", " ", text)
    text = text.lower() if data.get("lowercase") else text
    ids = [tokens.index.get(piece, 1) for piece in tokens.pieces(text)] or [1]
    most = classifier["max_tokens"]
    if most and len(ids) > most:
        head = most if classifier["truncate"] == "head" else (most + 1) // 2
        ids = ids[:head] + (ids[len(ids) - (most - head) :] if most > head else [])
    return ids


def predict(folder: Path, path: Path, batch_size: int = 64) -> list:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    data, classifier = config["data"], config["classifier"]
    tokens = Tokens(json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")))
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    rows = [token_ids(text, tokens, data, classifier) for text in texts_of(path, data, classifier)]
    labels = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        lengths = np.array([len(ids) for ids in batch], dtype=np.int64)
        padded = np.zeros((len(batch), lengths.max()), dtype=np.int64)  # <pad> is id 0
        for row, ids in enumerate(batch):
            padded[row, : len(ids)] = ids
        (logits,) = session.run(None, {"ids": padded, "lengths": lengths})
        labels += [classifier["classes"][k] for k in logits.argmax(-1)]
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a recur export folder of a classifier")
    parser.add_argument("csv", type=Path, help="a CSV file with the run's text column(s)")
    args = parser.parse_args()
    print("\n".join(predict(args.folder, args.csv)))


if __name__ == "__main__":
    main()
