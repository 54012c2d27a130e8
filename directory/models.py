"""Directory models arrive with the listings (issue 3)."""
