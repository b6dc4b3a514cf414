"""Options and presets: the config dataclasses whose field docs are --help, and every default."""
