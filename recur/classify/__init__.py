"""Text classifiers: preprocessing, batches, the training task, ensembles, the TF-IDF partner,
reports and prediction."""
