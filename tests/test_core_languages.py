"""core.languages: the one place the code reads the site's languages from."""

from django.utils import translation

from core import languages


def test_the_site_speaks_english_german_french_and_italian_english_first():
    assert languages.codes() == ("en", "de", "fr", "it")
    assert languages.columns("name", "synonyms") == [
        "name_en",
        "name_de",
        "name_fr",
        "name_it",
        "synonyms_en",
        "synonyms_de",
        "synonyms_fr",
        "synonyms_it",
    ]
    assert languages.side_by_side("title") == ("title_en", "title_de", "title_fr", "title_it")


def test_a_language_the_site_lacks_reads_as_english():
    with translation.override("fr"):
        assert languages.current() == "fr"
    with translation.override("es"):
        assert languages.current() == "en"


def test_a_text_is_read_in_the_page_language_else_english_else_german():
    row = {"title_en": "Liver", "title_de": "Leber", "title_fr": "", "title_it": "Fegato"}
    assert languages.shown_language(row, "title", "it") == "it"
    assert languages.in_language(row, "title", "it") == "Fegato"
    assert languages.shown_language(row, "title", "fr") == "en"
    assert languages.in_language(row, "title", "fr") == "Liver"
    german_only = {"title_en": "", "title_de": "Leber", "title_fr": None, "title_it": ""}
    assert languages.shown_language(german_only, "title", "fr") == "de"
    assert languages.in_language(german_only, "title", "en") == "Leber"
    assert languages.shown_language({"title_en": ""}, "title", "fr") == ""
    assert languages.in_language({}, "title", "fr") == ""


def test_objects_are_read_like_rows():
    class Entry:
        body_en = "English text"
        body_fr = ""

    with translation.override("fr"):
        assert languages.shown_language(Entry(), "body") == "en"
        assert languages.in_language(Entry(), "body") == "English text"


def test_language_names_are_written_as_mid_sentence_in_the_page_language():
    assert languages.name("fr", "en") == "French"
    assert languages.name("fr", "de") == "Französisch"
    assert languages.name("fr", "fr") == "français"
    assert languages.name("en", "it") == "inglese"
