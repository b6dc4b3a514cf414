"""Exporting trained runs to ONNX (``recur export``) and running the exported folders through
onnxruntime (``recur generate DIR``, ``recur.load(DIR)``): graph.py traces the model, check.py
proves the graph matches PyTorch, quantize.py writes int8 weights, runtime.py runs a folder."""
