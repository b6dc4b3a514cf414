"""Greedy text from a `recur export` folder with onnxruntime and numpy alone (no recur, no torch).

    python onnx_generate.py EXPORT_DIR --prime "ROMEO:" --length 300

prints what `recur generate RUN --temperature 0 --length 300 --prime "ROMEO:"` prints for the
run the folder was exported from, for character- and word-level models. It reads only the
folder's model.onnx, tokenizer.json and config.json; see the folder's README.md for the graph.
"""

import argparse
import json
import re
from pathlib import Path

import numpy as np
import onnxruntime

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]  # ids 0-3 in every recur tokenizer
WORD_SPLIT = re.compile(r"<unk>|\w+(?:['’]\w+)*|[^\w\s]|\n")  # split_punctuation: true
WORD_WHOLE = re.compile(r"<unk>|[^\s]+|\n")  # split_punctuation: false
NO_SPACE_BEFORE, NO_SPACE_AFTER = set(".,!?;:%)]}…"), set("([{$")


class Tokens:
    """tokenizer.json's vocabulary: specials, then condition tokens, then the symbols."""

    def __init__(self, saved: dict):
        if saved["type"] not in ("char", "word"):
            raise SystemExit(f"this example reads char and word tokenizers, not {saved['type']}")
        self.saved, self.conditions = saved, saved.get("conditions", [])
        self.symbols = SPECIALS + self.conditions + saved["symbols"]
        self.index = {symbol: i for i, symbol in enumerate(self.symbols)}
        self.hidden = {0, 2, 3, *range(4, 4 + len(self.conditions))}  # never shown in text

    def pieces(self, text: str) -> list:
        if self.saved["type"] == "char":
            return list(text)
        text = text.lower() if self.saved["lowercase"] else text
        return (WORD_SPLIT if self.saved["split_punctuation"] else WORD_WHOLE).findall(text)

    def encode(self, text: str) -> list:
        unknown = [piece for piece in self.pieces(text) if piece not in self.index]
        if unknown:
            raise SystemExit(f"the prime holds tokens the model never saw: {unknown[:10]}")
        return [self.index[piece] for piece in self.pieces(text)]

    def decode(self, ids: list) -> str:
        shown = [self.symbols[i] for i in ids if i not in self.hidden]
        if self.saved["type"] == "char":
            return "".join(shown)
        return join_words(shown, self.saved["split_punctuation"])


def join_words(words: list, split_punctuation: bool) -> str:
    """Words joined as recur's word tokenizer does: single spaces, none before closing
    punctuation or after opening brackets, straight quotes glued to the words they enclose."""
    parts, previous, quoted = [], "\n", False
    for word in words:
        glued = split_punctuation and (
            word in NO_SPACE_BEFORE
            or previous in NO_SPACE_AFTER
            or (word == '"' and quoted)
            or (previous == '"' and quoted)
        )
        if word != "\n" and previous != "\n" and not glued:
            parts.append(" ")
        parts.append(word)
        quoted = (not quoted if word == '"' else quoted) and word != "\n"
        previous = word
    return "".join(parts)


def zero_state(session, batch: int) -> dict:
    """Every input after `ids` is a state tensor; zeros are the start of a text."""
    state = {}
    for tensor in session.get_inputs()[1:]:
        shape = [batch if dim == "batch" else dim for dim in tensor.shape]
        state[tensor.name] = np.zeros(shape, np.int64 if "int64" in tensor.type else np.float32)
    return state


def greedy(folder: Path, prime: str, length: int) -> str:
    tokens = Tokens(json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")))
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    names = [tensor.name for tensor in session.get_inputs()[1:]]
    # no prime: a hidden line end (or <bos>) starts the text, as recur generate does
    start = tokens.encode(prime) if prime else [tokens.index.get("\n", 2)]
    banned = [0, 1, 2, 3, *range(4, 4 + len(tokens.conditions))]  # never drawn
    fed, state, drawn = np.array([start], dtype=np.int64), zero_state(session, 1), []
    for _ in range(length):
        logits, *new_state = session.run(None, {"ids": fed, **state})
        scores = logits[0, -1].copy()
        scores[banned] = -np.inf
        drawn.append(int(scores.argmax()))
        fed, state = np.array([[drawn[-1]]], dtype=np.int64), dict(zip(names, new_state))
    return tokens.decode((start if prime else []) + drawn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a recur export folder")
    parser.add_argument("--prime", default="", help="text to start from")
    parser.add_argument("--length", type=int, default=500, help="tokens to generate")
    args = parser.parse_args()
    print(greedy(args.folder, args.prime, args.length))


if __name__ == "__main__":
    main()
