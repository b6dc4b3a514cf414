"""recur: recurrent neural networks (LSTM, GRU, RNN) for text, trained and sampled end to end.

    import recur
    model = recur.train("input.txt", time="3m")
    print(model.generate("ROMEO:", length=200, seed=1)[0])
    print(model.evaluate(path="valid.txt"))

Heavy modules (torch) load on first use, so ``import recur`` and ``recur --help`` stay fast.
"""

__version__ = "0.1.0"
__all__ = ["train", "load", "RecurError"]

from recur.errors import RecurError


def __getattr__(name):
    if name in ("train", "load", "Model"):
        from recur import api

        return getattr(api, name)
    raise AttributeError(f"module 'recur' has no attribute {name!r}")
