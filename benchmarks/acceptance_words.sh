#!/bin/bash
# Acceptance runs of the word / document / conditional features (issue 3), one after the other.
# Run from the repository root:  bash benchmarks/acceptance_words.sh   (about 35 minutes; 60 with WIKITEXT=1 BPC=1)
# DATA and OUT override the data folder and the runs folder; WIKITEXT=1 adds the WikiText-2 run,
# BPC=1 the bits-per-character comparison of levels. THREADS (default 1): the figures in the
# README were measured with one thread while other jobs held the machine's other core.
set -x      # no -e: one failed check must not stop the runs after it
D=${DATA:-../shared/data}
OUT=${OUT:-runs/acceptance}
THREADS=${THREADS:-1}

# Headlines: a word-level document model of click-bait headlines, 5 minutes.
python -m recur train $D/derived/clickbait_train.csv --level word --text-column headline \
    --where label=clickbait --time 5m --min-count 2 --hidden-size 384 --embedding-size 384 \
    --dropout 0.3 \
    --batch-size 32 --seq-length 64 --samples 0 --threads $THREADS --out $OUT/headlines
python -m recur generate $OUT/headlines -n 20 --min-words 4 --max-words 15 --seed 1 --json \
    > $OUT/headlines.json
python -m benchmarks.headline_check $D/derived/clickbait_train.csv < $OUT/headlines.json

# Genres: a conditional character model of lyrics, 10 minutes, the bare command (conditional
# char models default to --condition-every-line and --condition-embedding); 30 songs per genre,
# classified, plain (guidance 0) and guided (--guidance 1, recur generate's option).
python -m recur train $D/derived/lyrics3_train.csv --text-column lyrics --condition-column genre \
    --time 10m --threads $THREADS --out $OUT/lyrics
python -m benchmarks.genre_check $OUT/lyrics --songs 30 --temperature 0.7 --guidance 0 1 2 \
    > $OUT/genres.json
cat $OUT/genres.json

if [ -n "$WIKITEXT" ]; then
# WikiText-2: word level, <unk> kept as a word, 10 minutes; validation perplexity on valid.txt.
# The 33,281-word vocabulary gets the adaptive softmax by default (--adaptive-softmax auto).
python -m recur train $D/wikitext-2/train.txt --level word --no-split-punctuation \
    --val-fraction 0 --time 10m --hidden-size 200 --embedding-size 200 --num-layers 2 \
    --batch-size 32 --seq-length 35 --dropout 0 --lr 3e-3 --samples 0 --threads $THREADS \
    --out $OUT/wikitext2
python -m recur evaluate $OUT/wikitext2 $D/wikitext-2/valid.txt --json
fi

if [ -n "$BPC" ]; then
# Bits per character of char, word and BPE models of tiny Shakespeare, 3 minutes each, default
# model; evaluated on the last 10% of the file (the validation slice every level trained without).
python - $D/tinyshakespeare/input.txt $OUT/shakespeare_valid.txt <<'PY'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "w", encoding="utf-8").write(text[int(len(text) * 0.9):])
PY
for level in char word bpe; do
    python -m recur train $D/tinyshakespeare/input.txt --level $level --time 3m --seed 0 \
        --samples 0 --threads $THREADS --out $OUT/bpc_$level
    python -m recur evaluate $OUT/bpc_$level $OUT/shakespeare_valid.txt --json
done
fi
