"""Content models arrive with the articles."""
