"""Run directories: save, load and resolve checkpoints, the saved trainer state, the logbook."""
