import pytest
from django.test import Client

from tests.factories import EditorFactory, UserFactory


@pytest.fixture
def editor(db):
    """Erika, a member of the Editors group."""
    return EditorFactory(username="erika")


@pytest.fixture
def outsider(db):
    """Otto, a registered user who is neither staff nor editor."""
    return UserFactory(username="otto")


@pytest.fixture
def german_client() -> Client:
    """A client whose browser asks for German."""
    return Client(headers={"accept-language": "de-DE,de;q=0.9"})
