"""A classifier on the GPU: it trains there (padding masks and lengths on the device), and its
probabilities on the CPU and on the GPU agree. (tests/classify covers the same on the CPU.)"""

import numpy as np

import recur
from tests.classify.test_classifier import TINY, topic_rows, write_csv
from tests.cuda import cuda_only


@cuda_only
def test_a_classifier_trains_on_the_gpu_and_predicts_anywhere(tmp_path):
    device = "cuda"
    rows = topic_rows(80)
    data = write_csv(tmp_path / "train.csv", rows)
    options = dict(text_column="text", label_column="label", epochs=4, **TINY)
    recur.train(data, out=str(tmp_path / "run"), device=device, **options)
    texts = [text for _, text, _ in rows]
    here = recur.load(tmp_path / "run", device=device)
    assert np.mean(np.array(here.predict(texts)) == [label for label, _, _ in rows]) > 0.9
    on_cpu = recur.load(tmp_path / "run", device="cpu").probabilities(texts)
    np.testing.assert_allclose(on_cpu, here.probabilities(texts), atol=1e-5)
