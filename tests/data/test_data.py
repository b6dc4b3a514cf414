import numpy as np
import pytest

from recur.data.streams import StreamBatches, split_ids, split_text
from recur.errors import RecurError


def test_contiguous_split_keeps_the_tail_for_validation():
    assert split_text("abcdefghij", 0.2) == ("abcdefgh", "ij")
    train, val = split_ids(np.arange(10), 0.3)
    assert train.tolist() == list(range(7)) and val.tolist() == [7, 8, 9]


def test_chunks_continue_each_stream_and_targets_shift_by_one():
    ids = np.arange(103, dtype=np.int32)
    batches = StreamBatches(ids, batch_size=4, seq_length=7, seed=0)
    length = batches.stream_length(0)  # (103 - 1) // 4 = 25
    assert length == 25 and batches.chunks_per_epoch(0) == 4
    chunks = [batches.chunk(0, i) for i in range(batches.chunks_per_epoch(0))]
    assert [x.shape[1] for x, _ in chunks] == [7, 7, 7, 4]  # the short last chunk is kept
    inputs = np.concatenate([x.numpy() for x, _ in chunks], axis=1)
    targets = np.concatenate([y.numpy() for _, y in chunks], axis=1)
    for stream in range(4):
        assert inputs[stream].tolist() == list(range(stream * 25, stream * 25 + 25))
    assert (targets == inputs + 1).all()


def test_later_epochs_start_at_a_seeded_offset():
    ids = np.arange(1000, dtype=np.int32)
    batches = StreamBatches(ids, batch_size=2, seq_length=50, seed=3)
    offsets = [batches.offset(epoch) for epoch in range(1, 8)]
    assert all(0 <= o < 50 for o in offsets) and len(set(offsets)) > 1
    x, _ = batches.chunk(1, 0)
    assert x[0, 0].item() == offsets[0]
    assert offsets == [StreamBatches(ids, 2, 50, seed=3).offset(e) for e in range(1, 8)]


def test_too_little_data_is_refused():
    with pytest.raises(RecurError, match="too few"):
        StreamBatches(np.arange(10), batch_size=8, seq_length=16)
