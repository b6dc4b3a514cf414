"""The HTTP API through FastAPI's test client: models, generate (JSON and Server-Sent Events),
OpenAI-style completions, classify, music, and the limits (413, 429, 4xx) after which the server
still answers."""

import base64
import json

import pytest


def events(response) -> list:
    """The data of each Server-Sent Event, parsed where it is JSON."""
    out = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_models_lists_every_run_and_its_facts(client, runs):
    listed = {m["id"]: m["kind"] for m in client.get("/v1/models").json()["data"]}
    assert listed == {name: "lm" if name == "documents" else name for name in runs}
    facts = client.get("/v1/models/lm").json()
    assert facts["kind"] == "lm" and facts["parameters"] > 1000
    assert facts["validation"]["val_loss"] > 0 and len(facts["curve"]["train"]) == 30
    assert facts["precision"]["chosen"] == "fp32"  # a tiny model's products all stay fp32
    assert client.get("/v1/models/nothing").status_code == 404


def test_generate_json_is_reproducible_and_counts_tokens(client):
    body = {"model": "lm", "prime": "the cat", "length": 40, "seed": 5, "num_samples": 2}
    first = client.post("/v1/generate", json=body).json()
    assert first == client.post("/v1/generate", json=body).json()
    assert all(s.startswith("the cat") and len(s) == 47 for s in first["samples"])
    assert first["samples"][0] != first["samples"][1]
    assert first["finish_reasons"] == ["length", "length"]


def test_a_streamed_sample_arrives_token_by_token_as_separate_events(client, models):
    body = {"model": "lm", "prime": "the", "length": 25, "seed": 5, "stream": True}
    with client.stream("POST", "/v1/generate", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        got = events(response)
    texts = [e["text"] for e in got if isinstance(e, dict) and "text" in e]
    assert texts[0] == "the" and len(texts) == 26 and all(len(t) == 1 for t in texts[1:])
    assert got[-2] == {"index": 0, "finish_reason": "length"} and got[-1] == "[DONE]"
    whole = client.post("/v1/generate", json={**body, "stream": False}).json()["samples"][0]
    assert "".join(texts) == whole


def test_stop_string_ends_a_sample_and_is_not_returned(client):
    body = {"model": "lm", "length": 300, "seed": 1, "stop": "."}
    result = client.post("/v1/generate", json=body).json()
    assert "." not in result["samples"][0] and result["finish_reasons"] == ["stop"]


def test_completions_as_openai_answers_them(client):
    body = {"model": "lm", "prompt": "the dog", "max_tokens": 12, "n": 2, "seed": 3}
    result = client.post("/v1/completions", json=body).json()
    assert result["object"] == "text_completion" and len(result["choices"]) == 2
    assert all(len(c["text"]) == 12 and c["finish_reason"] == "length" for c in result["choices"])
    assert result["usage"]["completion_tokens"] == 24
    with client.stream("POST", "/v1/completions", json={**body, "stream": True}) as response:
        chunks = events(response)
    assert chunks[-1] == "[DONE]" and len(chunks) == 2 * 12 + 2 + 1
    unsupported = client.post("/v1/completions", json={**body, "logprobs": 3})
    assert unsupported.status_code == 400 and "logprobs" in unsupported.json()["error"]["message"]


@pytest.mark.parametrize(
    "body, status, says",
    [
        ("{not json", 400, "not valid JSON"),
        ("[1, 2]", 400, "JSON object"),
        ('{"model": "lm", "lenght": 5}', 400, "unknown field 'lenght'"),
        ('{"model": "lm", "top_p": 2}', 400, "top_p"),
        ('{"model": "lm", "length": "many"}', 400, "length"),
        ('{"prime": "x"}', 400, "model is missing"),
        ('{"model": "lm", "length": 1000, "num_samples": 2}', 400, "--max-tokens"),
        ('{"model": "classifier"}', 400, "/v1/classify"),
        ('{"model": "lm", "prime": "\u00e9\u00e9"}', 400, "never saw"),
        ('{"model": "lm", "prime": "' + "x" * 5000 + '"}', 413, "4,000 bytes"),
    ],
)
def test_bad_requests_get_a_4xx_that_says_what_to_change(client, body, status, says):
    response = client.post(
        "/v1/generate", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == status and says in response.json()["error"]["message"]
    assert client.post("/v1/generate", json={"model": "lm", "length": 3}).status_code == 200


def test_an_unannounced_oversized_body_gets_413(client):
    chunks = (b"x" * 1000 for _ in range(6))  # no Content-Length: sent in chunks
    response = client.post("/v1/generate", content=chunks)
    assert response.status_code == 413
    assert client.get("/v1/models").status_code == 200


def test_a_full_model_gets_429_with_retry_after_and_recovers(client, models):
    engine = models["lm"].engine
    for _ in range(engine.max_streams):
        engine.reserve()
    try:
        response = client.post("/v1/generate", json={"model": "lm", "length": 5})
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    finally:
        for _ in range(engine.max_streams):
            engine.release()
    assert client.post("/v1/generate", json={"model": "lm", "length": 5}).status_code == 200


def test_classify_gives_probabilities_and_word_contributions(client):
    text = "love the night and dance"
    body = client.post("/v1/classify", json={"model": "classifier", "text": text}).json()
    assert set(body["probabilities"]) == {"metal", "pop"}
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-5
    assert [w["text"] for w in body["words"]] == text.split()
    assert body["class"] == max(body["probabilities"], key=body["probabilities"].get)


def test_inspect_returns_the_report_page_of_a_text(client):
    for model, text in (("classifier", "love the night and dance"), ("lm", "the night")):
        response = client.post("/v1/inspect", json={"model": model, "text": text})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "<html" in response.text and "https://" not in response.text
    assert '"tokens":["t","h","e"," ","n","i","g","h","t"]' in response.text.replace("\\u003c", "<")
    refused = client.post("/v1/inspect", json={"model": "lm", "text": "x" * 20_001})
    assert refused.status_code in (400, 413)  # over the body limit or the text limit


def test_a_document_model_streams_documents_under_a_chosen_condition(client):
    facts = client.get("/v1/models/documents").json()
    assert facts["documents"] and sorted(facts["conditions"]["genre"]) == ["metal", "pop"]
    body = {"model": "documents", "condition": "genre=pop", "length": 200, "seed": 1}
    with client.stream("POST", "/v1/generate", json={**body, "stream": True}) as response:
        got = events(response)
    assert got[-2]["finish_reason"] in ("eos", "length") and got[-1] == "[DONE]"
    wrong = client.post("/v1/generate", json={**body, "condition": "genre=jazz"})
    assert wrong.status_code == 400 and "valid values" in wrong.json()["error"]["message"]
    bounded = client.post("/v1/generate", json={**body, "max_words": 400, "num_samples": 2})
    assert bounded.status_code == 200 and len(bounded.json()["samples"]) == 2


def test_music_of_a_chosen_length_with_midi_and_wav(client, runs):
    if "music" not in runs:
        pytest.skip("the music extra (pretty_midi) is not installed")
    body = {"model": "music", "seconds": 6, "seed": 2}
    piece = client.post("/v1/music", json=body).json()
    assert piece["notes"] and max(s + d for s, d, _, _ in piece["notes"]) <= 6 + 1e-6
    assert max(s + d for s, d, _, _ in piece["notes"]) > 3
    assert base64.b64decode(piece["midi"])[:4] == b"MThd"
    assert base64.b64decode(piece["wav"])[:4] == b"RIFF"


def test_the_page_is_self_contained(client):
    page = client.get("/").text
    assert "<script>" in page and "/v1/generate" in page
    assert "http://" not in page and "https://" not in page  # no CDN: works offline
