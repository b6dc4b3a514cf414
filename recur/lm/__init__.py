"""Language-model runs: preparing a corpus, training, and evaluating loss, perplexity and bits per character."""
