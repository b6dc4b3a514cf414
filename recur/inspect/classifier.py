"""Inspecting a classifier on a text: each word's contribution to the predicted class
(occlusion, ``classify.attribution``) with the deletion check of its faithfulness, the class
probabilities, and the units most tied to each class: a unit's share of a class's logit is its
pooled activation times the head's weight (summed over the pooled slots of ``concat``)."""

from __future__ import annotations

import numpy as np
import torch

from recur.classify.attribution import deletion_check, token_contributions
from recur.classify.use import Classifier
from recur.config.inspect_options import InspectConfig
from recur.inspect.capture import capture_layer, check
from recur.inspect.discovery import correlations, gate_statistics, top_units, unit_matrix
from recur.inspect.features import token_features, token_spans
from recur.inspect.language import display_tokens
from recur.models.classifier import ClassifierEnsemble


def capture_classifier(model, ids: torch.Tensor, threshold: float):
    """Every layer (and backward layer) of a RecurrentClassifier over ids (T,): the Layers, in
    text order, and the last layer's outputs (T, W)."""
    x, layers = model.embedding(ids[None])[0].detach(), []
    for k in range(model.config.num_layers):
        layer, out = capture_layer(model.forward_layers[k], x, str(k), threshold)
        layers.append(layer)
        if model.backward_layers is not None:
            back, reversed_out = capture_layer(
                model.backward_layers[k], x.flip(0), f"{k}b", threshold
            )
            back.states = {name: v[::-1].copy() for name, v in back.states.items()}
            layers.append(back)
            out = torch.cat([out, reversed_out.flip(0)], dim=1)
        x = out
    return layers, x


def class_units(model, out: torch.Tensor, classes: list[str], last: int, count: int) -> dict:
    """Per class, the units whose pooled activation adds most to its logit."""
    steps = out.shape[0]
    with torch.no_grad():
        mask = torch.ones(1, steps, dtype=torch.bool, device=out.device)
        pooled = model.pool(out[None], mask, torch.tensor([steps], device=out.device))[0]  # (P,)
        shares = (model.head.weight * pooled[None]).reshape(len(classes), -1, out.shape[1])
        shares = shares.sum(1).cpu().numpy()  # (C, W)
    hidden = model.config.hidden_size
    names = [
        f"{last}:h:{j}" if j < hidden else f"{last}b:h:{j - hidden}" for j in range(out.shape[1])
    ]
    return {
        name: [
            {"unit": names[j], "contribution": round(float(shares[c, j]), 4)}
            for j in np.argsort(-shares[c])[:count]
        ]
        for c, name in enumerate(classes)
    }


def inspect_classifier(bundle, text: str, config: InspectConfig) -> tuple[dict, dict]:
    classifier = Classifier(bundle)
    explained = token_contributions(classifier, text)
    deleted = deletion_check(classifier, [text], count=config.deletions)
    model = bundle.model.eval()
    if isinstance(model, ClassifierEnsemble):
        model = model.members[0]  # units of the first member; the probabilities are the ensemble's
    cleaned = classifier.preprocessor.clean(text)
    encoded = classifier.preprocessor.cut(bundle.tokenizer.encode_array(cleaned))
    ids = [int(i) for i in encoded] or [bundle.tokenizer.unk_id]
    device = next(model.parameters()).device
    with torch.no_grad():
        layers, out = capture_classifier(model, torch.tensor(ids, device=device), config.saturation)
    spans = token_spans(bundle.tokenizer, cleaned, ids)
    features = token_features(cleaned, spans, words=bundle.tokenizer.kind != "char")
    units, names = unit_matrix(layers)
    correlation = correlations(features, units)
    last = model.config.num_layers - 1
    findings = {
        "kind": "classifier",
        "cell": layers[0].cell,
        "num_layers": model.config.num_layers,
        "hidden_size": model.config.hidden_size,
        "unit_tokens": display_tokens(cleaned, spans),
        "classifier": {
            **explained,
            "text": text,
            "deletion": {**deleted, "count": config.deletions} if deleted["texts"] else None,
            "units": class_units(model, out, classifier.classes, last, config.top_units),
        },
        "discovery": top_units(correlation, names, config.top_units),
        "absent_features": sorted(set(features) - set(correlation)),
        "gates": gate_statistics(layers),
        "check": check(layers),
    }
    return findings, {"units": units, "names": names, "correlation": correlation}
