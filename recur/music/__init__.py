"""Music runs: a language model over MIDI events; a trained run -> new MIDI (compose.py)."""
