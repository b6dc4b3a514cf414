"""Training machinery: the one trainer and its task interface, run setup, the stop plan and
learning-rate schedule, the optimizer, sizing, devices and torchrun."""
