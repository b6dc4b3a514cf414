#!/bin/bash
# Acceptance runs of the word / document / conditional features (issue 3), one after the other.
# Run from the repository root:  bash benchmarks/acceptance_words.sh   (about 20 minutes on 2 cores)
# DATA and OUT override the data folder and the runs folder; WIKITEXT=1 adds the WikiText-2 run.
set -x      # no -e: one failed check must not stop the runs after it
D=${DATA:-../shared/data}
OUT=${OUT:-runs/acceptance}
THREADS=${THREADS:-2}

# Headlines: a word-level document model of click-bait headlines, 5 minutes.
python -m recur train $D/derived/clickbait_train.csv --level word --text-column headline \
    --where label=clickbait --time 5m --min-count 2 --hidden-size 384 --embedding-size 384 \
    --dropout 0.3 \
    --batch-size 32 --seq-length 64 --samples 0 --threads $THREADS --out $OUT/headlines
python -m recur generate $OUT/headlines -n 20 --min-words 4 --max-words 15 --seed 1 --json \
    > $OUT/headlines.json
python -m benchmarks.headline_check $D/derived/clickbait_train.csv < $OUT/headlines.json

# Genres: a conditional character model of lyrics, 10 minutes; 30 songs per genre, classified.
python -m recur train $D/derived/lyrics3_train.csv --text-column lyrics --condition-column genre \
    --condition-every-line \
    --time 10m --hidden-size 512 --embedding-size 64 --batch-size 32 --seq-length 256 \
    --samples 0 --max-val-tokens 60000 --threads $THREADS --out $OUT/lyrics
python -m benchmarks.genre_check $OUT/lyrics --songs 30 --temperature 0.8 > $OUT/genres.json
cat $OUT/genres.json
python -m benchmarks.genre_check $OUT/lyrics --songs 30 --temperature 0.6 > $OUT/genres_t06.json
cat $OUT/genres_t06.json

if [ -n "$WIKITEXT" ]; then
# WikiText-2: word level, <unk> kept as a word, 10 minutes; validation perplexity on valid.txt.
python -m recur train $D/wikitext-2/train.txt --level word --no-split-punctuation \
    --val-fraction 0 --time 10m --hidden-size 200 --embedding-size 200 --num-layers 2 \
    --batch-size 20 --seq-length 35 --samples 0 --threads $THREADS --out $OUT/wikitext2
python -m recur evaluate $OUT/wikitext2 $D/wikitext-2/valid.txt --json
fi
