"""The sitemap section of the site's own pages (privacy policy, legal notice, contact, editorial
policy): the pages that exist, in each of the site's languages, with the date each last changed.
Listed in config/urls.py beside the directory's sections."""

from content.models import Page
from directory.sitemaps import ListingSitemap


class SitePagesSitemap(ListingSitemap):
    def items(self):
        return Page.objects.only("kind", "modified").order_by("pk")
