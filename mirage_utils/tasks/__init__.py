"""Tasks the book's own models are trained and tested on."""
