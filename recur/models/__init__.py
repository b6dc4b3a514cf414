"""Pure nn.Modules built from config dataclasses: the recurrent language model and the
classifier."""
