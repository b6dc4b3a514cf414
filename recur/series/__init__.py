"""Numeric sequences: read, scale, classify, regress and forecast with the one trainer."""
