"""A classifier's encoded examples (``LabelledSet``) and the class probabilities a model gives
them (``predict_probabilities``), for training, the final report and a trained ``Classifier``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recur.classify.batches import length_batches, pad
from recur.data.ragged import lengths_of


@dataclass
class LabelledSet:
    """Encoded examples: id arrays, class ids, the cleaned texts (for the baselines) and the
    values of --group-by."""

    ids: list
    labels: np.ndarray
    texts: list
    groups: list

    @property
    def lengths(self) -> np.ndarray:
        return np.maximum(lengths_of(self.ids), 1)


def predict_probabilities(model, ids: list, device, batch_size: int = 64) -> np.ndarray:
    """(N, C) class probabilities, in the order of ``ids``; batches sorted by length."""
    lengths = np.maximum(lengths_of(ids), 1)
    result = np.zeros((len(ids), model.num_classes), dtype=np.float32)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for batch in length_batches(lengths, batch_size):
            padded, batch_lengths = pad([ids[i] for i in batch])
            logits = model(padded.to(device), batch_lengths)
            result[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    model.train(was_training)
    return result
