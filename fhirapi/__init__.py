"""A read-only FHIR R4 REST API of the directory's published listings under /fhir/ (docs/api.md)."""
