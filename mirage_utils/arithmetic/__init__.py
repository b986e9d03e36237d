"""The arithmetic GPT family: ``task`` (problems, split, documents), ``model`` (the GPT), ``train`` (the recipe, one
shard), ``evaluate`` (scoring), ``shards`` (shards -> artifact tables) and ``rescore`` (any family's answers,
no torch). Importing this package imports nothing heavy; ``task`` and ``rescore`` work without torch."""
