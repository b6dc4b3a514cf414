"""Training machinery: the trainer, the stop plan and learning-rate schedule, sizing, devices and torchrun."""
