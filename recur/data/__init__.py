"""Reading data: files, folders and built-in corpora, documents, labelled rows, MIDI files, the
token cache, and the streams that batch a language model's ids."""
