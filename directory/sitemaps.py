"""Sitemaps (Django's framework): every published page in each of the site's languages, each
with its hreflang alternates and x-default. /sitemap.xml is the index of the sections below."""

from collections.abc import Sequence

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from directory.models import Clinic, Condition, Specialist, Specialty

URLS_PER_PAGE = 10_000


class LanguagePairs(Sequence):
    """(object, language) for every object of a queryset and every language, as Django's i18n
    sitemaps page through them, but read one page at a time instead of all 520,000 at once."""

    def __init__(self, queryset, languages: list[str]):
        self.queryset, self.languages = queryset, languages
        self._count = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.queryset.count() * len(self.languages)
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        start, stop, _step = index.indices(len(self))
        per = len(self.languages)
        objects = self.queryset[start // per : -(-stop // per)]
        pairs = [(obj, language) for obj in objects for language in self.languages]
        offset = start - (start // per) * per
        return pairs[offset : offset + (stop - start)]


class LocalisedSitemap(Sitemap):
    i18n = True
    alternates = True
    x_default = True
    limit = URLS_PER_PAGE

    def _items(self):
        items = self.items()
        if hasattr(items, "query"):
            return LanguagePairs(items, self._languages())
        return super()._items()


class PagesSitemap(LocalisedSitemap):
    """The pages that are not about one entry."""

    changefreq = "daily"

    def items(self):
        return ["content:home", "directory:search", "directory:clinics", "content:conditions"]

    def location(self, item):
        return reverse(item)


class ListingSitemap(LocalisedSitemap):
    def lastmod(self, item):
        return item.modified

    def get_latest_lastmod(self):
        """For the index: one aggregate, not every row (Django's default loops over items())."""
        return self.items().aggregate(latest=Max("modified"))["latest"]


class SpecialistSitemap(ListingSitemap):
    def items(self):
        return Specialist.objects.published().only("slug", "modified").order_by("pk")


class ClinicSitemap(ListingSitemap):
    def items(self):
        return Clinic.objects.published().only("slug", "modified").order_by("pk")


class ConditionSitemap(ListingSitemap):
    def items(self):
        return Condition.objects.public().only("slug", "modified").order_by("pk")

    def location(self, item):
        return reverse("content:condition", args=[item.slug])


class SpecialtySitemap(ListingSitemap):
    def items(self):
        return Specialty.objects.public().only("slug", "modified").order_by("pk")

    def location(self, item):
        return reverse("content:specialty", args=[item.slug])


SITEMAPS = {
    "pages": PagesSitemap,
    "conditions": ConditionSitemap,
    "specialties": SpecialtySitemap,
    "clinics": ClinicSitemap,
    "specialists": SpecialistSitemap,
}
