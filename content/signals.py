"""Pages that show an article, and the site's own pages, are cached per generation of the index
(directory.search): a change to an article, its sources or a page starts a new one."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from content.models import Article, Page, Source
from directory.search import keys


@receiver([post_save, post_delete], sender=Article)
@receiver([post_save, post_delete], sender=Source)
@receiver([post_save, post_delete], sender=Page)
def content_changed(sender, **kwargs):
    keys.bump_generation(counts=False)
