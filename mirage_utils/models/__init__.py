"""Model families trained by the book (small enough for a laptop CPU)."""
