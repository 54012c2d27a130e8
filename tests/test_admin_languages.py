"""The admin in four languages: each translated field's languages side by side in one row of
the change form, saved with the entry, English and German required where the model says so and
French and Italian optional; the admin itself in the editor's browser language."""

import html
import re

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from modeltranslation.translator import translator

from content.models import Article, Page
from core import languages
from directory.models import (
    CORRESPONDENCE_LANGUAGE_HELP,
    Certification,
    Clinic,
    Condition,
    Location,
    Specialist,
    Specialty,
)
from tests.admin_forms import change_form_data
from tests.factories import AffiliationFactory, ConditionFactory, SpecialtyFactory
from tests.test_content import make_article

pytestmark = pytest.mark.django_db

# Made from the Markdown the editor writes, never edited in admin.
GENERATED = {"body_html"}


@pytest.fixture
def editor(client, editor):
    client.force_login(editor)
    return editor


@pytest.fixture
def entries() -> dict:
    """One entry of each model with translated fields, and its admin change form."""
    affiliation = AffiliationFactory()
    clinic = affiliation.clinic
    certification = Certification.objects.create(
        clinic=clinic, title_en="Certified liver centre", issuer="A society"
    )
    page = Page.objects.create(
        kind=Page.Kind.CONTACT,
        title_en="Contact",
        title_de="Kontakt",
        summary_en="How to reach us.",
        summary_de="So erreichen Sie uns.",
        body_en="Write to us.",
        body_de="Schreiben Sie uns.",
    )
    listed = [
        SpecialtyFactory(),
        ConditionFactory(),
        clinic,
        affiliation.location,
        certification,
        affiliation.specialist,
        make_article(ConditionFactory()),
        page,
    ]
    return {type(entry): (entry, change_url(entry)) for entry in listed}


def change_url(entry) -> str:
    opts = entry._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{entry.pk}/change/"


def translated(model) -> list[str]:
    return [f for f in translator.get_options_for_model(model).fields if f not in GENERATED]


def row(field: str) -> str:
    """The class of the admin row that holds a field's four languages."""
    return "form-row " + " ".join(f"field-{column}" for column in languages.side_by_side(field))


def test_every_translated_field_shows_its_four_languages_side_by_side(client, editor, entries):
    # A clinic's change form holds its locations and certifications too.
    also = {Clinic: [Location, Certification]}
    for model, (_entry, url) in entries.items():
        page = client.get(url).content.decode()
        fields = [f for each in (model, *also.get(model, [])) for f in translated(each)]
        assert fields, model
        for field in fields:
            assert f'class="{row(field)}"' in page, f"{model.__name__}.{field}"
            for column in languages.side_by_side(field):
                assert f'name="{column}"' in page or re.search(
                    rf'name="[a-z]+-0-{column}"', page
                ), column
        assert "css/admin-languages.css" in page  # lays such rows out in columns


FRENCH = "Texte en français."
ITALIAN = "Testo in italiano."


@pytest.mark.parametrize(
    ("model", "changes", "check"),
    [
        (
            Specialty,
            {"name_fr": "Chirurgie viscérale", "name_it": "Chirurgia viscerale"},
            lambda s: (s.name_fr, s.name_it) == ("Chirurgie viscérale", "Chirurgia viscerale"),
        ),
        (
            Condition,
            {"documents_fr": FRENCH, "synonyms_it": ITALIAN, "name_fr": "Calculs biliaires"},
            lambda c: (
                (c.documents_fr, c.synonyms_it, c.name_fr) == (FRENCH, ITALIAN, "Calculs biliaires")
            ),
        ),
        (
            Clinic,
            {
                "description_fr": FRENCH,
                "description_it": ITALIAN,
                "locations-0-opening_hours_fr": "Urgences: 144",
                "locations-0-accessibility_note_it": ITALIAN,
                "certifications-0-title_fr": "Centre certifié du foie",
            },
            lambda c: (
                (
                    c.description_fr,
                    c.description_it,
                    c.locations.get().opening_hours_fr,
                    c.locations.get().accessibility_note_it,
                    c.certifications.get().title_fr,
                )
                == (FRENCH, ITALIAN, "Urgences: 144", ITALIAN, "Centre certifié du foie")
            ),
        ),
        (
            Location,
            {"opening_hours_it": ITALIAN},
            lambda location: location.opening_hours_it == ITALIAN,
        ),
        (
            Certification,
            {"title_it": "Centro certificato"},
            lambda c: c.title_it == "Centro certificato",
        ),
        (
            Specialist,
            {"headline_fr": "Médecin-chef", "biography_it": ITALIAN, "memberships_fr": FRENCH},
            lambda s: (
                (s.headline_fr, s.biography_it, s.memberships_fr)
                == ("Médecin-chef", ITALIAN, FRENCH)
            ),
        ),
        (
            Article,
            {
                "title_fr": "Métastases hépatiques",
                "summary_fr": FRENCH,
                "body_fr": "## Qu’est-ce que c’est?\n\nTexte.",
                "title_it": "Metastasi epatiche",
                "summary_it": ITALIAN,
                "body_it": "## Che cosa sono?\n\nTesto.",
                "reviewer_credentials_it": "specialista in oncologia",
            },
            lambda a: (
                (a.title_fr, a.title_it, a.reviewer_credentials_it)
                == ("Métastases hépatiques", "Metastasi epatiche", "specialista in oncologia")
                and "<h2" in a.body_html_fr
                and "Che cosa sono?" in a.body_html_it
            ),
        ),
        (
            Page,
            {"title_fr": "Contact", "summary_it": ITALIAN, "body_it": "Ci scriva."},
            lambda p: (
                (p.title_fr, p.summary_it) == ("Contact", ITALIAN)
                and "Ci scriva." in p.body_html_it
            ),
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_an_editor_saves_french_and_italian_texts(client, editor, entries, model, changes, check):
    entry, url = entries[model]

    response = client.post(url, change_form_data(client, url, **changes))

    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    assert check(model._default_manager.get(pk=entry.pk))


@pytest.mark.parametrize("model", [Article, Page])
def test_french_and_italian_are_optional_and_english_and_german_required(
    client, editor, entries, model
):
    entry, url = entries[model]
    # Saved with English and German only.
    assert client.post(url, change_form_data(client, url)).status_code == 302
    assert (model._default_manager.get(pk=entry.pk).title_fr or "") == ""

    refused = client.post(url, change_form_data(client, url, title_de="", title_fr="Titre"))

    assert refused.status_code == 200
    assert 'class="errorlist' in refused.content.decode()
    assert model._default_manager.get(pk=entry.pk).title_fr in {"", None}


def test_a_specialty_needs_an_english_and_a_german_name_and_no_french_one(client, editor, entries):
    _entry, url = entries[Specialty]

    refused = client.post(url, change_form_data(client, url, name_en="", name_fr="Cardiologie"))
    saved = client.post(url, change_form_data(client, url, name_fr="", name_it=""))

    assert refused.status_code == 200
    assert "errorlist" in refused.content.decode()
    assert saved.status_code == 302


HELP = re.compile(r'<div class="help"[^>]*>\s*<div>(.*?)</div>', re.S)


@pytest.mark.parametrize("language", ["fr", "it"])
def test_every_help_text_of_the_editors_forms_is_in_their_language(editor, entries, language):
    english, other = (
        Client(headers={"accept-language": f"{code};q=0.9"}) for code in ("en", language)
    )
    compared = 0
    for _entry, url in entries.values():
        helps = {}
        for code, client in (("en", english), (language, other)):
            client.force_login(editor)
            helps[code] = set(HELP.findall(html.unescape(client.get(url).content.decode())))
        assert helps["en"], url
        assert not helps["en"] & helps[language], url
        compared += len(helps["en"])
    assert compared > 40


@pytest.mark.parametrize("language", ["fr", "it"])
def test_the_admin_speaks_the_editors_browser_language(editor, entries, language):
    """The admin has no language in its address: Django's LocaleMiddleware takes the editor's
    browser language (or the language cookie)."""
    client = Client(headers={"accept-language": f"{language}-CH,{language};q=0.9"})
    client.force_login(editor)
    _clinic, url = entries[Clinic]

    page = html.unescape(client.get(url).content.decode())

    with translation.override(language):
        help_text = str(CORRESPONDENCE_LANGUAGE_HELP)
        save = gettext("Save")
        revision = gettext("Save as draft revision")
    with translation.override("en"):
        assert help_text != str(CORRESPONDENCE_LANGUAGE_HELP)
        assert save != gettext("Save")
    assert f'<html lang="{language}"' in page
    assert help_text in page  # our help text, from our catalogue
    assert f'value="{save}"' in page  # Django's own, from Django's
    assert revision in page
