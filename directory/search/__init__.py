"""The specialist and clinic search.

- `keys`: cache keys and generations.
- `index`: the flat search rows (SpecialistSearch) and the vocabulary (SearchTerm).
- `text`: what the words of `q` match.
- `filters`: the parameters of a list (django-filter FilterSets).
- `lists`: a list as a page shows it: rows, cards, counts and facets.
- `clinics`: the clinic search.
"""
