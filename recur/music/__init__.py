"""Music runs: MIDI files or the bach corpus -> training ids; a trained run -> new MIDI."""
