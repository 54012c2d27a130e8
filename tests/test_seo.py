"""What search engines and link previews read: JSON-LD, canonical and
hreflang links, descriptions and Open Graph tags, the sitemap and robots.txt, and that no page
asks another host for anything."""

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from content.demo import load_demo_pages
from core import languages
from directory.models import Specialist
from directory.sitemaps import LanguagePairs
from tests.factories import AffiliationFactory, ClinicFactory, ConditionFactory, SpecialtyFactory
from tests.test_content import make_article

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


class Head(HTMLParser):
    """Collects the JSON-LD blocks, <link> and <meta> tags and every URL a page loads."""

    def __init__(self):
        super().__init__()
        self.links, self.meta, self.json_ld, self.loads = [], {}, [], []
        self.locale_alternates = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            self.links.append(attrs)
            if attrs.get("rel") in {"stylesheet", "icon", "preload", "modulepreload"}:
                self.loads.append(attrs["href"])
        elif tag == "meta":
            self.meta[attrs.get("property") or attrs.get("name")] = attrs.get("content")
            if attrs.get("property") == "og:locale:alternate":
                self.locale_alternates.append(attrs.get("content"))
        elif tag == "script":
            self._in_json = attrs.get("type") == "application/ld+json"
            if attrs.get("src"):
                self.loads.append(attrs["src"])
        elif tag in {"img", "iframe", "source", "video", "audio", "embed"}:
            self.loads += [v for k, v in attrs.items() if k in {"src", "data"} and v]
            self.loads += [part.split()[0] for part in attrs.get("srcset", "").split(",") if part]

    def handle_endtag(self, tag):
        self._in_json = False if tag == "script" else self._in_json

    def handle_data(self, data):
        if self._in_json:
            self.json_ld.append(json.loads(data))

    def types(self) -> list[str]:
        return [block["@type"] for block in self.json_ld]

    def of_type(self, name: str) -> dict:
        return next(block for block in self.json_ld if block["@type"] == name)

    def hreflang(self) -> dict[str, str]:
        return {
            link["hreflang"]: link["href"] for link in self.links if link.get("rel") == "alternate"
        }

    def canonical(self) -> str:
        return next(link["href"] for link in self.links if link.get("rel") == "canonical")


def head(client, url: str) -> Head:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = Head()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def site():
    """A published specialist at a hospital, a condition with an article, a field, and the
    site's own pages (privacy policy, legal notice, contact, editorial policy)."""
    load_demo_pages()
    field = SpecialtyFactory(name_en="Visceral surgery", slug="visceral-surgery")
    condition = ConditionFactory(name_en="Liver metastases", slug="liver-metastases", icd10="C78.7")
    make_article(condition)
    affiliation = AffiliationFactory(
        specialist__honorific_prefix="Prof. Dr. med.",
        specialist__given_name="Lena",
        specialist__family_name="Aurich",
        specialist__slug="lena-aurich",
        location__clinic__name="Klinikum Stadtpark",
        location__clinic__slug="klinikum-stadtpark",
        location__clinic__kind="hospital",
        location__city="Erfurt",
    )
    affiliation.specialist.specialties.add(field)
    affiliation.specialist.conditions.add(condition)
    # A certification in force and one that ran out (the clinic and condition pages show them).
    today = timezone.localdate()
    for title, valid_until in (("Certified liver centre", 400), ("Old label", -3)):
        affiliation.clinic.certifications.create(
            title_en=title,
            title_de=title,
            issuer="A cancer society",
            valid_until=today + timedelta(days=valid_until),
            register_url="https://register.example/1",
        ).conditions.add(condition)
    return affiliation


PAGES = [
    "/{lang}/",
    "/{lang}/specialists/",
    "/{lang}/specialists/?q=aurich",
    "/{lang}/specialists/lena-aurich/",
    "/{lang}/specialists/lena-aurich/request/",
    "/{lang}/clinics/",
    "/{lang}/clinics/klinikum-stadtpark/",
    "/{lang}/conditions/",
    "/{lang}/conditions/liver-metastases/",
    "/{lang}/specialties/visceral-surgery/",
    "/{lang}/privacy/",
    "/{lang}/legal-notice/",
    "/{lang}/contact/",
    "/{lang}/editorial-policy/",
]


# Open Graph knows no language without a territory: the one whose readers come most often.
OG_LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_CH", "it": "it_CH"}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_canonical_hreflang_description_and_open_graph(client, site, page):
    for language in languages.codes():
        url = page.format(lang=language)
        tags = head(client, url)

        path = url.split("?")[0]
        assert tags.canonical().startswith(f"http://testserver{path}")
        alternates = tags.hreflang()
        assert set(alternates) == {*languages.codes(), "x-default"}
        for code in languages.codes():
            other = path.replace(f"/{language}/", f"/{code}/")
            assert alternates[code].startswith(f"http://testserver{other}")
        assert alternates["x-default"].startswith(
            f"http://testserver{path.replace(f'/{language}/', '/')}"
        )
        assert len(tags.meta["description"]) > 30
        assert tags.meta["og:title"]
        assert tags.meta["og:description"] == tags.meta["description"]
        assert tags.meta["og:url"] == tags.canonical()
        assert tags.meta["og:locale"] == OG_LOCALES[language]
        assert sorted(tags.locale_alternates) == sorted(
            OG_LOCALES[code] for code in languages.codes() if code != language
        )


@pytest.mark.parametrize("page", PAGES)
def test_no_page_loads_anything_from_another_host(client, site, page):
    for language in languages.codes():
        loads = head(client, page.format(lang=language)).loads

        assert loads  # the stylesheet at least
        for url in loads:
            assert url.startswith("/"), url
            assert not url.startswith("//"), url


def test_x_default_redirects_by_the_browsers_language(client, site):
    response = client.get("/specialists/lena-aurich/", headers={"accept-language": "de"})

    assert response.status_code == 302
    assert response["Location"] == "/de/specialists/lena-aurich/"


def test_home_has_website_with_search_action(client, site):
    website = head(client, "/en/").of_type("WebSite")

    assert website["url"] == "http://testserver/en/"
    action = website["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["target"]["urlTemplate"] == (
        "http://testserver/en/specialists/?q={search_term_string}"
    )
    assert action["query-input"] == "required name=search_term_string"


def test_profile_is_a_physician_with_breadcrumbs(client, site):
    tags = head(client, "/en/specialists/lena-aurich/")

    assert sorted(tags.types()) == ["BreadcrumbList", "Physician"]
    physician = tags.of_type("Physician")
    assert physician["name"] == "Prof. Dr. med. Lena Aurich"
    assert physician["honorificPrefix"] == "Prof. Dr. med."
    assert physician["medicalSpecialty"] == ["Visceral surgery"]
    assert physician["knowsAbout"][0]["name"] == "Liver metastases"
    assert physician["address"]["addressLocality"] == "Erfurt"
    assert physician["memberOf"][0]["@type"] == "Hospital"
    crumbs = tags.of_type("BreadcrumbList")["itemListElement"]
    assert [crumb["name"] for crumb in crumbs] == ["Home", "Specialists", physician["name"]]
    assert crumbs[1]["item"] == "http://testserver/en/specialists/"
    assert "item" not in crumbs[-1]


def test_profile_title_names_what_and_where(client, site):
    text = client.get("/de/specialists/lena-aurich/").text

    assert "<title>Prof. Dr. med. Lena Aurich – Fachgebiet" in text
    assert ", Erfurt – Spezialisten-Atlas</title>" in text


@pytest.mark.parametrize(
    ("kind", "schema_type"), [("hospital", "Hospital"), ("centre", "MedicalClinic")]
)
def test_clinic_is_a_hospital_or_medical_clinic(client, kind, schema_type):
    clinic = ClinicFactory(slug="some-clinic", kind=kind)
    AffiliationFactory(location__clinic=clinic)

    tags = head(client, "/en/clinics/some-clinic/")

    assert sorted(tags.types()) == sorted(["BreadcrumbList", schema_type])
    assert tags.of_type(schema_type)["address"]["@type"] == "PostalAddress"


def test_condition_page_is_a_reviewed_medical_web_page(client, site):
    tags = head(client, "/en/conditions/liver-metastases/")

    assert sorted(tags.types()) == ["BreadcrumbList", "MedicalWebPage"]
    page = tags.of_type("MedicalWebPage")
    assert page["about"] == {
        "@type": "MedicalCondition",
        "name": "Liver metastases",
        "code": {"@type": "MedicalCode", "codeValue": "C78.7", "codingSystem": "ICD-10"},
    }
    assert page["lastReviewed"] == "2026-10-01"
    assert page["reviewedBy"] == {
        "@type": "Person",
        "name": "Dr. med. Erika Beispiel",
        "jobTitle": "specialist in oncology",
    }
    assert page["citation"][0]["url"] == "https://example.org/"
    crumbs = tags.of_type("BreadcrumbList")["itemListElement"]
    assert [crumb["name"] for crumb in crumbs] == [
        "Home",
        "Conditions and treatments",
        "Liver metastases",
    ]


def test_a_field_page_has_its_breadcrumbs(client):
    parent = SpecialtyFactory(name_en="Internal medicine", slug="internal-medicine")
    SpecialtyFactory(name_en="Oncology", slug="oncology", parent=parent)

    crumbs = head(client, "/en/specialties/oncology/").of_type("BreadcrumbList")

    names = [crumb["name"] for crumb in crumbs["itemListElement"]]
    assert names == ["Home", "Internal medicine", "Oncology"]


def test_json_ld_cannot_be_broken_out_of(client):
    AffiliationFactory(
        specialist__slug="odd", specialist__headline="</script><script>alert(1)</script>"
    )

    text = client.get("/en/specialists/odd/").text

    assert "<script>alert(1)" not in text
    assert "\\u003C/script\\u003E" in text


# --- Sitemap and robots.txt ----------------------------------------------------------------


def _urls(client, path: str) -> list[ElementTree.Element]:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)  # noqa: S314 - our own sitemap


def test_sitemap_lists_every_published_page_in_every_language_with_alternates(client, site):
    AffiliationFactory(specialist__slug="draft-person", specialist__status="draft")
    index = _urls(client, "/sitemap.xml")
    sections = [loc.text for loc in index.iter(f"{SITEMAP}loc")]
    assert "http://testserver/sitemap-specialists.xml" in sections

    locations, alternates = set(), {}
    for section in sections:
        for url in _urls(client, section.removeprefix("http://testserver")).iter(f"{SITEMAP}url"):
            loc = url.find(f"{SITEMAP}loc").text
            locations.add(loc)
            alternates[loc] = {
                link.get("hreflang"): link.get("href") for link in url.iter(f"{XHTML}link")
            }

    for path in (
        "/specialists/lena-aurich/",
        "/clinics/klinikum-stadtpark/",
        "/conditions/liver-metastases/",
        "/specialties/visceral-surgery/",
        "/",
        "/specialists/",
    ):
        for language in languages.codes():
            assert f"http://testserver/{language}{path}" in locations
            assert alternates[f"http://testserver/{language}{path}"] == {
                **{code: f"http://testserver/{code}{path}" for code in languages.codes()},
                "x-default": f"http://testserver{path}",
            }
    assert not any("draft-person" in loc for loc in locations)


def test_sitemap_pages_read_only_their_own_rows(client, django_assert_max_num_queries):
    for _ in range(7):
        AffiliationFactory()
    pairs = LanguagePairs(Specialist.objects.order_by("pk"), ["en", "de"])

    assert len(pairs) == 14
    everything = [(obj.pk, language) for obj, language in pairs[0:14]]
    assert [(obj.pk, language) for obj, language in pairs[3:8]] == everything[3:8]
    assert (pairs[5][0].pk, pairs[5][1]) == everything[5]
    with django_assert_max_num_queries(1):
        assert len(pairs[13:20]) == 1


def test_robots_txt_names_the_sitemap_and_keeps_out_of_forms(client):
    text = client.get("/robots.txt").content.decode()

    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /admin/" in text
    assert re.search(r"Disallow: /en/specialists/\*/request/", text)


def test_request_forms_are_not_indexed(client, site):
    assert head(client, "/en/specialists/lena-aurich/request/").meta["robots"] == "noindex"


def test_cached_pages_keep_the_host_they_were_rendered_for(client, site, settings):
    settings.ALLOWED_HOSTS = ["atlas.example", "www.atlas.example"]

    first = client.get("/en/specialists/lena-aurich/", HTTP_HOST="atlas.example")
    second = client.get("/en/specialists/lena-aurich/", HTTP_HOST="www.atlas.example")

    assert 'href="http://atlas.example/en/specialists/lena-aurich/"' in first.content.decode()
    assert 'href="http://www.atlas.example/en/specialists/lena-aurich/"' in second.content.decode()


def test_the_sitemap_index_does_not_load_every_listing(client, site):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/sitemap.xml").status_code == 200

    listing_reads = [
        query["sql"] for query in queries if 'FROM "directory_specialist"' in query["sql"]
    ]
    assert listing_reads  # the latest change and the number of pages: aggregates, no rows
    assert all(sql.startswith(("SELECT MAX(", "SELECT COUNT(")) for sql in listing_reads)


def test_alternates_name_the_canonical_url_of_each_language(client, site):
    tags = head(client, "/de/specialists/?q=aurich&utm_source=mail&page=1&sort=relevance")

    assert tags.canonical() == "http://testserver/de/specialists/?q=aurich"
    assert tags.hreflang() == {
        **{code: f"http://testserver/{code}/specialists/?q=aurich" for code in languages.codes()},
        "x-default": "http://testserver/specialists/?q=aurich",
    }
