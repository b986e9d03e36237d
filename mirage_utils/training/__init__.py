"""Training recipes for the book's model families (CPU first; ``--device cuda`` where one exists)."""
