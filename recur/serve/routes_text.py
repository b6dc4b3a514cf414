"""Text routes: ``POST /v1/generate`` (recur's own: JSON, or Server-Sent Events of the text as it
is made) and ``POST /v1/completions`` (OpenAI's, streaming and not). Plain samples join their
model's step loop; beam search and word-bounded documents run whole, holding one slot."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

import torch
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from recur.config.sample_options import SampleConfig
from recur.errors import RecurError
from recur.generate.conditions import parse_condition, start_rows
from recur.generate.documents import generate_for_run
from recur.generate.streaming import TextStream
from recur.serve.engine import Engine, Handle
from recur.serve.schemas import CompletionRequest, GenerateRequest
from recur.serve.served import NotFound, Served

router = APIRouter()
POLL = 1.0  # seconds between checks that a non-streaming client is still there
FINISH = {"stop": "stop", "eos": "stop", "length": "length", "time": "length"}


def find(models: dict[str, Served], name: str) -> Served:
    if name not in models:
        raise NotFound(f"unknown model {name!r}: use one of {', '.join(models)} (GET /v1/models)")
    return models[name]


def text_model(request: Request, name: str) -> tuple[Served, Engine]:
    item = find(request.app.state.models, name)
    if item.engine is None or item.kind == "music":
        use = "/v1/classify" if item.kind == "classifier" else "/v1/music"
        raise RecurError(f"{name} is a {item.kind} run: use {use}")
    return item, item.engine


def check_budget(request: Request, length: int, samples: int) -> None:
    config = request.app.state.config
    if samples > config.max_samples:
        raise RecurError(f"ask for at most {config.max_samples} samples (--max-samples)")
    if length * samples > config.max_tokens:
        raise RecurError(
            f"{length} tokens x {samples} samples is over {config.max_tokens} tokens a request: "
            "ask for fewer (--max-tokens)"
        )


def make_streams(item: Served, sample: SampleConfig, count: int, stops=None) -> list[TextStream]:
    """``count`` streams, seeds ``seed, seed + 1, ...``; a document model's start with its
    ``<bos>`` and condition tokens and end at ``<eos>``."""
    tokenizer, device = item.bundle.tokenizer, next(item.bundle.model.parameters()).device
    seed = int(torch.randint(0, 2**31 - 1, ()).item()) if sample.seed is None else sample.seed
    starts: list | None = None
    if item.documents:
        chosen = parse_condition(sample.condition, item.conditions)
        rng = torch.Generator().manual_seed(seed)
        starts = start_rows(tokenizer, item.conditions, chosen, count, rng)[0]
    elif sample.condition:
        raise RecurError("condition needs a document model with conditions")
    return [
        TextStream(
            tokenizer,
            dataclasses.replace(sample, seed=seed + i),
            None if starts is None else starts[i],
            item.documents,
            device,
            stops,
        )
        for i in range(count)
    ]


async def events(engine: Engine, handles: list[Handle]) -> AsyncGenerator[list[tuple], None]:
    """Lists of (index, kind, value) as the streams make them, everything waiting at once;
    kinds: start, text, end, error."""
    merged: asyncio.Queue = asyncio.Queue()
    if len(handles) == 1:
        merged = handles[0].queue  # one stream: read its own queue, no pumping

    async def pump(index: int, handle: Handle) -> None:
        while True:
            kind, value = await handle.queue.get()
            await merged.put((index, kind, value))
            if kind in ("end", "error"):
                return

    tasks = (
        [asyncio.create_task(pump(i, h)) for i, h in enumerate(handles)] if len(handles) > 1 else []
    )
    try:
        ended = 0
        while ended < len(handles):
            batch = [await merged.get()]
            while not merged.empty():
                batch.append(merged.get_nowait())
            batch = [(0, *item) if len(item) == 2 else item for item in batch]
            ended += sum(kind in ("end", "error") for _, kind, _ in batch)
            yield batch
    finally:
        engine.cancel(handles)  # a client that went away frees its slots at once
        for task in tasks:
            task.cancel()


def sse(payload) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def streaming(body: AsyncIterator[bytes]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def collect(request: Request, engine: Engine, handles: list[Handle]) -> list[dict]:
    """Every stream's whole text and finish reason, for a request that does not stream; a
    client that goes away cancels them."""
    results = [{"text": "", "prime": "", "finish_reason": None} for _ in handles]
    stream = events(engine, handles)
    try:
        while True:
            try:
                batch = await asyncio.wait_for(anext(stream), POLL)
            except asyncio.TimeoutError:
                if await request.is_disconnected():
                    return results
                continue
            except StopAsyncIteration:
                return results
            for index, kind, value in batch:
                if kind == "error":
                    raise RecurError(value)
                key = {"start": "prime", "text": "text", "end": "finish_reason"}[kind]
                results[index][key] = results[index][key] + value if kind != "end" else value
    finally:
        await stream.aclose()


@router.post("/v1/generate")
async def generate(body: GenerateRequest, request: Request):
    item, engine = text_model(request, body.model)
    check_budget(request, body.length, body.num_samples)
    options = body.model_dump(exclude={"model", "stream"})
    sample = SampleConfig(**options)
    if sample.beam or sample.min_words is not None or sample.max_words is not None or sample.unique:
        return await whole(item, engine, sample)
    handles = engine.submit(make_streams(item, sample, sample.num_samples))
    if body.stream:
        return streaming(generate_events(engine, handles))
    results = await collect(request, engine, handles)
    texts = [r["prime"] + r["text"] for r in results]
    return {"samples": texts, "finish_reasons": [r["finish_reason"] for r in results]}


async def generate_events(engine: Engine, handles: list[Handle]) -> AsyncIterator[bytes]:
    """One event per piece of text (a token's), written together when several are waiting."""
    async for batch in events(engine, handles):
        out = []
        for index, kind, value in batch:
            if kind in ("start", "text") and value:
                out.append(sse({"index": index, "text": value}))
            elif kind in ("end", "error"):
                out.append(sse({"index": index, {"end": "finish_reason"}.get(kind, kind): value}))
        if out:
            yield b"".join(out)
    yield sse("[DONE]")


async def whole(item: Served, engine: Engine, sample: SampleConfig) -> dict:
    """Beam search and bounded documents: run to the end in a worker thread, on one slot."""
    engine.reserve()
    try:
        device = str(next(item.bundle.model.parameters()).device)
        result = await asyncio.to_thread(generate_for_run, item.bundle, sample, device)
    finally:
        engine.release()
    return {"samples": result.texts, "seed": result.seed, "conditions": result.conditions}


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request):
    item, engine = text_model(request, body.model)
    unsupported(body)
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    check_budget(request, body.max_tokens, body.n * max(len(prompts), 1))
    stops = [body.stop] if isinstance(body.stop, str) else body.stop
    streams = []
    for prompt in prompts:
        sample = SampleConfig(
            prime=prompt,
            length=body.max_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            seed=body.seed,
        )
        streams += make_streams(item, sample, body.n, stops or [])
    handles = engine.submit(streams)
    head = {
        "id": f"cmpl-{uuid.uuid4().hex[:24]}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.model,
    }
    if body.stream:
        return streaming(completion_chunks(engine, handles, head, body.echo))
    results = await collect(request, engine, handles)
    choices = [
        {
            "text": (r["prime"] if body.echo else "") + r["text"],
            "index": i,
            "logprobs": None,
            "finish_reason": FINISH.get(r["finish_reason"] or "", "length"),
        }
        for i, r in enumerate(results)
    ]
    prompt_tokens = sum(len(s.ids) - s.hidden for s in streams)
    completion_tokens = sum(len(s.tokens) for s in streams)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return {**head, "choices": choices, "usage": usage}


def unsupported(body: CompletionRequest) -> None:
    """OpenAI's fields recur cannot honour are accepted only at their neutral values."""
    problems = [
        name
        for name, neutral in (
            ("logprobs", body.logprobs is None),
            ("best_of", body.best_of in (None, 1, body.n)),
            ("presence_penalty", body.presence_penalty == 0),
            ("frequency_penalty", body.frequency_penalty == 0),
            ("logit_bias", not body.logit_bias),
            ("suffix", body.suffix is None),
        )
        if not neutral
    ]
    if problems:
        raise RecurError(f"recur does not support {', '.join(problems)}: leave them out")
    if body.stop and not isinstance(body.stop, str) and len(body.stop) > 4:
        raise RecurError("give at most 4 stop strings")


async def completion_chunks(engine, handles, head: dict, echo: bool) -> AsyncIterator[bytes]:
    async for batch in events(engine, handles):
        out = []
        for index, kind, value in batch:
            if kind == "error":
                out.append(sse({"error": {"message": value, "type": "server_error"}}))
                continue
            if kind == "start" and not echo:
                continue
            reason = FINISH.get(value, "length") if kind == "end" else None
            text = "" if kind == "end" else value
            if text or reason:
                choice = {"text": text, "index": index, "logprobs": None, "finish_reason": reason}
                out.append(sse({**head, "choices": [choice]}))
        if out:
            yield b"".join(out)
    yield sse("[DONE]")
