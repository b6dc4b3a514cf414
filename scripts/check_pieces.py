"""The issue's bars for generated MIDI: python scripts/check_pieces.py FILE.mid ...

Each file must load with pretty_midi and have >= 8 distinct pitches, no pitch repeated more than 8
times in a row (notes ordered by start, then pitch), >= 3 distinct durations (ms) and last >= 20 s.
Prints one line per file and exits 1 when any file fails.
"""

import sys

import pretty_midi


def check(path: str) -> tuple[bool, str]:
    try:
        midi = pretty_midi.PrettyMIDI(path)
    except Exception as error:
        return False, f"does not load ({error})"
    notes = sorted((n.start, n.pitch, n.end) for inst in midi.instruments for n in inst.notes)
    pitches = [p for _, p, _ in notes]
    run = longest = 0
    for i, pitch in enumerate(pitches):
        run = run + 1 if i and pitch == pitches[i - 1] else 1
        longest = max(longest, run)
    durations = {round((end - start) * 1000) for start, _, end in notes}
    seconds = midi.get_end_time()
    ok = len(set(pitches)) >= 8 and longest <= 8 and len(durations) >= 3 and seconds >= 20
    return ok, (
        f"{len(notes)} notes, {len(set(pitches))} pitches, longest repeat {longest}, "
        f"{len(durations)} durations, {seconds:.1f} s"
    )


def main(paths) -> int:
    failures = 0
    for path in paths:
        ok, text = check(path)
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {path}: {text}")
    print(f"pieces: {len(paths) - failures} meet the bars, {failures} do not")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
