"""What ``recur inspect`` does for a run and a text: load, dispatch once on the run's kind,
and write the HTML report, the JSON findings and the PNG figures. ``report_html(run, text)``
returns the page alone, for the playground to serve."""

from __future__ import annotations

import json
import time
from pathlib import Path

from recur.config.inspect_options import InspectConfig
from recur.errors import RecurError
from recur.inspect.classifier import inspect_classifier
from recur.inspect.conditions import condition_effects
from recur.inspect.figures import write_figures
from recur.inspect.html import render
from recur.inspect.language import inspect_lm
from recur.inspect.music import inspect_music
from recur.runs.checkpoint import load


def inspect_bundle(bundle, text: str, config: InspectConfig) -> tuple[dict, dict | None]:
    """(findings, activations) of a loaded run on a text (a MIDI file's path for music)."""
    started = time.perf_counter()
    if bundle.kind == "classifier":
        findings, payload = inspect_classifier(bundle, text, config)
    elif bundle.kind == "music":
        findings, payload = inspect_music(bundle, text, config)
    else:
        if not text:
            raise RecurError("the text to inspect is empty: give a text or a non-empty file")
        findings, payload = inspect_lm(bundle, text[: config.max_chars], config)
        effects = condition_effects(bundle, text[: config.max_chars], config)
        if effects:
            findings["conditions"] = effects
    findings["run"] = str(bundle.path)
    findings["seconds"] = round(time.perf_counter() - started, 3)
    return findings, payload


def read_text(text_or_file: str, kind: str, encoding: str = "utf-8") -> str:
    """The argument itself, or the contents of the file it names (music: the path itself)."""
    path = Path(text_or_file)
    if kind == "music":
        if not path.exists():
            raise RecurError(f"{text_or_file}: no such MIDI file; music runs inspect a MIDI file")
        return str(path)
    if "\n" not in text_or_file and len(text_or_file) < 4096 and _is_file(path):
        try:
            return path.read_text(encoding=encoding)
        except UnicodeDecodeError as error:
            raise RecurError(
                f"{path}: not {encoding} text ({error.reason}); pass --encoding"
            ) from None
    return text_or_file


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a text too long to be a file name
        return False


def report_html(run, text: str, config: InspectConfig | None = None, device="cpu") -> str:
    """The self-contained HTML report of ``run`` on ``text`` (a MIDI path for music runs)."""
    config = config or InspectConfig()
    bundle = load(run, device=device)
    findings, payload = inspect_bundle(bundle, text, config)
    return render(findings, payload, config, Path(str(bundle.path)).parent.name)


def write_report(
    run,
    text_or_file: str,
    out: str,
    json_path: str | None = None,
    png_dir: str | None = None,
    config: InspectConfig | None = None,
    device: str = "cpu",
) -> dict:
    """Write the report (and optionally the JSON and the figures); returns the findings."""
    config = config or InspectConfig()
    bundle = load(run, device=device)
    text = read_text(text_or_file, bundle.kind)
    findings, payload = inspect_bundle(bundle, text, config)
    title = Path(str(bundle.path)).parent.name
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(render(findings, payload, config, title), encoding="utf-8")
    if json_path:
        Path(json_path).write_text(json.dumps(findings, ensure_ascii=False), encoding="utf-8")
    if png_dir:
        findings["figures"] = write_figures(findings, payload, Path(png_dir))
    return findings
