import re
from datetime import date

from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q
from django.db.models.functions import JSONObject
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from content import facts, markdown
from content.models import Article, Page, Source
from content.seo import medical_web_page, web_page
from core import revisions
from core.languages import columns, in_language
from directory.models import (
    Certification,
    CertificationQuerySet,
    Clinic,
    Condition,
    Country,
    SpecialistSearch,
    Specialty,
    Status,
)
from directory.places import fold
from directory.search import keys
from directory.search.lists import SpecialistList
from directory.search.plan import specialties
from directory.seo import Crumb, home_crumb, website
from directory.views import cached_public_page, may_preview

RELATED_CONDITIONS = 8
CLINICS_SHOWN = 10


FEATURED_CONDITIONS = 8


@cached_public_page
def home(request: HttpRequest) -> HttpResponse:
    """Search box, browse by medical field and by country, featured conditions (those with a
    published article first), and how the directory works."""
    fields = Specialty.objects.public().filter(parent__isnull=True).only(*columns("name"), "slug")
    featured = (
        Condition.objects.public()
        .annotate(has_article=Exists(Article.objects.live().filter(condition=OuterRef("pk"))))
        .only(*columns("name"), "slug")
        .order_by("-has_article", "name")[:FEATURED_CONDITIONS]
    )
    context = {
        "fields": sorted(fields, key=lambda field: fold(field.name)),
        "countries": Country.choices,
        "featured": featured,
        "structured_data": [website(request)],
    }
    return render(request, "content/home.html", context)


def _condition(slug: str) -> Condition:
    """The condition with its article (if any) and the article's sources, in one query."""
    sources = (
        Source.objects.filter(article__condition=OuterRef("pk"))
        .order_by("position", "id")
        .values(json=JSONObject(title="title", publisher="publisher", url="url"))
    )
    conditions = (
        Condition.objects.public()
        .select_related("article")
        .annotate(source_list=ArraySubquery(sources))
    )
    return get_object_or_404(conditions, slug=slug)


def _article_of(topic: Condition | Specialty) -> Article | None:
    try:
        return topic.article
    except Article.DoesNotExist:
        return None


def _shown(request: HttpRequest, article: Article | None, now=None) -> Article | None:
    """The article if it is live, or to staff who may preview it; else nothing."""
    if article and (article.is_live(now) or may_preview(request, "content.view_article")):
        return article
    return None


def _clinics_treating(condition: Condition) -> list[Clinic]:
    """Published clinics where specialists listed for the condition work: first those with a
    certification in force for it (theirs or their hospital's), each with the certificates that
    say why (`certificates`), then those with the most specialists; cached until the next
    change to the listings."""
    treating = Q(affiliations__specialist__search_row__condition_ids__contains=[condition.pk])
    # A plain query set: django-modeltranslation's would select every column in the subquery.
    certificates = (
        CertificationQuerySet(Certification)
        .current()
        .filter(conditions=condition)
        .filter(
            Q(clinic=OuterRef("pk"))
            | Q(clinic=OuterRef("parent_id"), clinic__status=Status.PUBLISHED)
        )
        .order_by("title", "id")
        .values(
            json=JSONObject(
                **{column: column for column in columns("title")},
                issuer="issuer",
                valid_until="valid_until",
            )
        )
    )
    clinics = (
        Clinic.objects.published()
        .filter(treating)
        .annotate(
            listed=Count("affiliations__specialist", filter=treating, distinct=True),
            certificates=ArraySubquery(certificates),
        )
        .only("name", "slug", "kind", "parent_id")
        .order_by(
            Func(F("certificates"), function="cardinality", output_field=IntegerField()).desc(),
            "-listed",
            "name",
        )[:CLINICS_SHOWN]
    )
    key = keys.clinics_treating(condition.pk)
    return cache.get_or_set(key, lambda: list(clinics), keys.cache_seconds())


def certified_reasons(clinic: Clinic) -> list[dict]:
    """Why a clinic comes first on a condition's page: its certificates for the condition, the
    title in the page's language, with issuer and end date."""
    return [
        {
            "title": in_language(row, "title"),
            "issuer": row["issuer"],
            "valid_until": date.fromisoformat(row["valid_until"]) if row["valid_until"] else None,
        }
        for row in getattr(clinic, "certificates", None) or []
    ]


@cached_public_page
def condition_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A condition or treatment: the article (reviewer, date, contents, sources), then the
    specialists who treat it with the search page's filters, clinics, related conditions."""
    condition = _condition(slug)
    listing = SpecialistList(
        request,
        SpecialistSearch.objects.filter(condition_ids__contains=[condition.pk]),
        scope=f"condition:{condition.pk}",
        scope_conditions=[condition.pk],
    )
    related = (
        Condition.objects.public()
        .filter(specialties__in=condition.specialties.all())
        .exclude(pk=condition.pk)
        .distinct()
        .order_by("name")[:RELATED_CONDITIONS]
    )
    now = timezone.now()
    article = _article_of(condition)
    shown = _shown(request, article, now)
    preview = revisions.for_preview(request, shown, "content.view_article") if shown else None
    sources = condition.source_list if shown else []
    context = {
        "revision_preview": preview,
        "condition": condition,
        "article": shown,
        "sources": sources,
        "crumbs": [
            home_crumb(),
            Crumb(_("Conditions and treatments"), reverse("content:conditions")),
            Crumb(condition.name),
        ],
        "structured_data": [medical_web_page(request, condition, shown, sources)],
        "listing": listing,
        "related": list(related),
        "clinics": [(clinic, certified_reasons(clinic)) for clinic in _clinics_treating(condition)],
    }
    response = render(request, "content/condition_detail.html", context, status=listing.status)
    response.cache_seconds = listing.cache_seconds  # short for "open now"
    if article and article.publish_at and article.publish_at > now:
        # Cached no longer than until the scheduled article is due.
        due = int((article.publish_at - now).total_seconds()) + 1
        response.cache_seconds = min(response.cache_seconds, due)
    return response


def condition_index(request: HttpRequest) -> HttpResponse:
    """Conditions and treatments from A to Z, in the reader's language."""
    conditions = sorted(Condition.objects.public().only(*columns("name"), "slug", "kind"), key=_key)
    letters: dict[str, list[Condition]] = {}
    for condition in conditions:
        letters.setdefault(_key(condition)[:1].upper() or "#", []).append(condition)
    return render(request, "content/condition_index.html", {"letters": letters})


def _key(condition: Condition) -> str:
    return fold(condition.name)


def specialty_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A medical field: its broader fields (breadcrumbs), its article if it has one, its
    sub-fields and the specialists in it or any sub-field, with the search page's filters."""
    field = get_object_or_404(Specialty.objects.public().select_related("article"), slug=slug)
    listing = SpecialistList(
        request,
        SpecialistSearch.objects.filter(specialty_ids__contains=[field.pk]),
        scope=f"specialty:{field.pk}",
    )
    fields = specialties()  # every field, cached: no query per ancestor
    ancestors, parent = [], fields.get(field.parent_id)
    while parent is not None and parent not in ancestors:
        ancestors.insert(0, parent)
        parent = fields.get(parent.parent_id)
    children = sorted((f for f in fields.values() if f.parent_id == field.pk), key=str)
    shown = _shown(request, _article_of(field))
    preview = revisions.for_preview(request, shown, "content.view_article") if shown else None
    context = {
        "revision_preview": preview,
        "field": field,
        "crumbs": [
            home_crumb(),
            *(Crumb(f.name, reverse("content:specialty", args=[f.slug])) for f in ancestors),
            Crumb(field.name),
        ],
        "children": children,
        "listing": listing,
        "article": shown,
        "sources": list(shown.sources.all()) if shown else [],
    }
    response = render(request, "content/specialty_detail.html", context, status=listing.status)
    response.cache_seconds = listing.cache_seconds  # short for "open now"
    return response


# The pages that show the operator's details (content.facts) in a box of their own, before the
# editors' text, under these headings.
OPERATOR_HEADINGS = {
    Page.Kind.PRIVACY: gettext_lazy("Who is responsible for your data"),
    Page.Kind.LEGAL_NOTICE: gettext_lazy("Operator of this site"),
    Page.Kind.CONTACT: gettext_lazy("Contact details"),
}
OPERATOR_ANCHOR = "operator-details"
# Pages with at least this many sections get a table of contents.
CONTENTS_FROM = 6


@cached_public_page
def page(request: HttpRequest, kind: str) -> HttpResponse:
    """One of the site's own pages (privacy policy, legal notice, contact, editorial policy):
    the editors' text with the operator's facts filled in from the settings, the date it was
    last changed and, where the law asks for them, the operator's details. 404 until an editor
    (or `load_pages`) has created it."""
    shown = get_object_or_404(Page, kind=kind)
    body = facts.fill(shown.body_html)
    heading = OPERATOR_HEADINGS.get(kind)
    headings = markdown.headings(body)
    # The box's anchor never repeats an id of the editors' text (a heading "Operator details").
    taken = set(re.findall(r'\sid="([^"]*)"', body))
    anchor = OPERATOR_ANCHOR
    while anchor in taken:
        anchor += "-box"
    if heading:
        headings.insert(0, markdown.Heading(2, anchor, str(heading)))
    context = {
        "page": shown,
        "body": body,
        "headings": headings if len(headings) >= CONTENTS_FROM else [],
        "operator": facts.operator() if heading else None,
        "operator_heading": heading,
        "operator_anchor": anchor,
        "privacy_contact": kind in {Page.Kind.PRIVACY, Page.Kind.CONTACT},
        "crumbs": [home_crumb(), Crumb(shown.title)],
        "structured_data": [web_page(request, shown)],
    }
    return render(request, "content/page.html", context)
