"""Language-model runs: the corpus, the task the trainer drives, and evaluation (loss,
perplexity, bits per character)."""
