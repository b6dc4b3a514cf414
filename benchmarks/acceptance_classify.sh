#!/bin/bash
# Acceptance runs of the classifier bars (issue 4), one after the other; each trains for at most
# 10 minutes. Run from the repository root:  bash benchmarks/acceptance_classify.sh
# DATA and OUT override the data folder and the runs folder; THREADS the CPU threads (default 2).
set -x      # no -e: one failed check must not stop the runs after it
D=${DATA:-../shared/data}/derived
OUT=${OUT:-runs/acceptance}
THREADS=${THREADS:-2}

# Click-bait vs news headlines: accuracy >= 0.98 on the test file.
python -m recur train $D/clickbait_train.csv --text-column headline --label-column label \
    --time 5m --threads $THREADS --out $OUT/clickbait
python -m recur evaluate $OUT/clickbait $D/clickbait_test.csv --json > $OUT/clickbait_test.json
python -m recur evaluate $OUT/clickbait $D/clickbait_test.csv | head -1

# Lyrics genres (country / metal / pop): macro-F1 >= 0.77 on the test file.
python -m recur train $D/lyrics3_train.csv --text-column lyrics --label-column genre \
    --time 10m --threads $THREADS --out $OUT/lyrics3
python -m recur evaluate $OUT/lyrics3 $D/lyrics3_test.csv | head -1
# The same budget shared by an ensemble of three.
python -m recur train $D/lyrics3_train.csv --text-column lyrics --label-column genre \
    --ensemble 3 --time 10m --threads $THREADS --out $OUT/lyrics3_ensemble
python -m recur evaluate $OUT/lyrics3_ensemble $D/lyrics3_test.csv | head -1

# AG News from 2,000 rows: accuracy >= 0.80 on the 7,600 test rows. From scratch, then with the
# encoder of a word language model trained for 10 minutes on WikiText-2 (--init-from).
python -m recur train $D/ag_news_train2000.csv --text-column title,description \
    --label-column topic --time 5m --threads $THREADS --out $OUT/ag_news
python -m recur evaluate $OUT/ag_news $D/ag_news_test.csv | head -1
python -m recur train $D/ag_news_train2000.csv --text-column title,description \
    --label-column topic --lowercase --lr 6e-3 --word-dropout 0.3 --ensemble 10 --epochs 10 \
    --time 10m --threads $THREADS \
    --out $OUT/ag_news_ensemble
python -m recur evaluate $OUT/ag_news_ensemble $D/ag_news_test.csv | head -1
# The same, with the starting word vectors also counted on unlabelled text (WikiText-2 and ABC
# news headlines, read line by line): seconds of pretraining instead of a language model.
python -m recur train $D/ag_news_train2000.csv --text-column title,description \
    --label-column topic --lowercase --lr 6e-3 --word-dropout 0.3 --ensemble 10 --epochs 10 \
    --time 10m --threads $THREADS --out $OUT/ag_news_vectors --vectors-from \
    ${DATA:-../shared/data}/wikitext-2/train.txt,${DATA:-../shared/data}/headlines/abcnews/abcnews-date-text.csv
python -m recur evaluate $OUT/ag_news_vectors $D/ag_news_test.csv | head -1
python -m recur train ${DATA:-../shared/data}/wikitext-2/train.txt --level word --lowercase \
    --max-vocab 10000 --cell lstm --num-layers 1 --hidden-size 256 --embedding-size 256 \
    --dropout 0.2 --batch-size 64 --seq-length 64 --lr 4e-3 --time 10m --samples 0 \
    --val-fraction 0.02 --threads $THREADS --out $OUT/wikitext_lm
python -m recur train $D/ag_news_train2000.csv --text-column title,description \
    --label-column topic --init-from $OUT/wikitext_lm --time 5m --threads $THREADS \
    --out $OUT/ag_news_lm
python -m recur evaluate $OUT/ag_news_lm $D/ag_news_test.csv | head -1
