"""Processor-specific and private PyTorch ops (oneDNN products, the CPU GRU), behind one switch."""
