"""The pure core: models and StrEnum states, the error tree, deadlines, the Az. format,
municipalities, the form contract and its validation, German wording. Imports nothing of ours;
no I/O."""
