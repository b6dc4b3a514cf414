"""recur serve: a web playground and an HTTP API (OpenAI-compatible completions) over trained runs,
with every model's concurrent streams stepped together (continuous batching)."""
