"""``POST /v1/classify`` (class probabilities and each word's contribution, from
classify/attribution.py), ``POST /v1/inspect`` (recur inspect's HTML report of a text) and
``POST /v1/music`` (a piece of a chosen length in seconds: its notes for the piano roll, the MIDI
file, and a WAV from fluidsynth or the small synthesiser)."""

from __future__ import annotations

import asyncio
import base64
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from recur.classify.attribution import token_contributions
from recur.config.inspect_options import InspectConfig
from recur.data.midi_files import render_wav, write_midi
from recur.errors import RecurError
from recur.inspect.html import render
from recur.inspect.report import inspect_bundle
from recur.music.compose import sample_pieces
from recur.music.synth import synthesize, wav_bytes
from recur.serve.routes_text import find
from recur.serve.schemas import ClassifyRequest, InspectRequest, MusicRequest
from recur.serve.served import Served

router = APIRouter()


def _model(request: Request, name: str, kind: str) -> Served:
    item = find(request.app.state.models, name)
    if item.kind != kind:
        raise RecurError(f"{name} is a {item.kind} run, not a {kind} run")
    return item


@router.post("/v1/classify")
async def classify(body: ClassifyRequest, request: Request) -> dict:
    classifier = _model(request, body.model, "classifier").classifier
    assert classifier is not None  # every classifier run is loaded with one
    if body.contributions:
        return await asyncio.to_thread(token_contributions, classifier, body.text)
    probabilities = (await asyncio.to_thread(classifier.probabilities, [body.text]))[0]
    shown = {name: float(p) for name, p in zip(classifier.classes, probabilities)}
    return {"class": max(shown, key=shown.__getitem__), "probabilities": shown}


@router.post("/v1/inspect", response_class=HTMLResponse)
async def inspect(body: InspectRequest, request: Request) -> HTMLResponse:
    """The same self-contained page as ``recur inspect RUN TEXT`` (language models and
    classifiers; a music run is inspected on a MIDI file with the command)."""
    item = find(request.app.state.models, body.model)
    if item.kind == "music":
        raise RecurError(f"{body.model} is a music run: inspect it with recur inspect RUN FILE.mid")
    config = InspectConfig()
    findings, payload = await asyncio.to_thread(inspect_bundle, item.bundle, body.text, config)
    return HTMLResponse(render(findings, payload, config, item.name))


@router.post("/v1/music")
async def music(body: MusicRequest, request: Request) -> dict:
    item = _model(request, body.model, "music")
    assert item.engine is not None
    item.engine.reserve()
    try:
        return await asyncio.to_thread(compose, item, body)
    finally:
        item.engine.release()


def compose(item: Served, body: MusicRequest) -> dict:
    """One piece of ``body.seconds``: notes in seconds, the MIDI and WAV files as base64."""
    tokenizer: Any = item.bundle.tokenizer  # a MidiTokenizer
    tempo = body.tempo or tokenizer.tempo
    sample = {
        "temperature": body.temperature,
        "top_k": body.top_k,
        "top_p": body.top_p,
        "seed": body.seed,
        "precision": item.precision.precision if item.precision else "fp32",
    }
    device = str(next(item.bundle.model.parameters()).device)
    pieces, seed = sample_pieces(item.bundle, sample, body.seconds, tempo, device)
    events, notes = pieces[0]
    step = tokenizer.seconds_per_step(tempo)
    with tempfile.TemporaryDirectory() as folder:
        midi = write_midi(notes, Path(folder) / "piece.mid", tokenizer.steps_per_beat, tempo)
        problem = render_wav(midi, Path(folder) / "piece.wav")
        audio = (
            (Path(folder) / "piece.wav").read_bytes()
            if problem is None
            else wav_bytes(synthesize(notes, step))
        )
        midi_bytes = midi.read_bytes()
    return {
        "seconds": body.seconds,
        "seed": seed,
        "events": events,
        "notes": [[s * step, d * step, int(p), int(v)] for s, d, p, v in notes.tolist()],
        "midi": base64.b64encode(midi_bytes).decode(),
        "wav": base64.b64encode(audio).decode(),
        "renderer": "fluidsynth" if problem is None else "recur synthesiser",
    }
