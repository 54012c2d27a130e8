"""Pages that show an article are cached per generation of the index (directory.search): a change
to an article or its sources starts a new one."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from content.models import Article, Source
from directory.search import keys


@receiver([post_save, post_delete], sender=Article)
@receiver([post_save, post_delete], sender=Source)
def article_changed(sender, **kwargs):
    keys.bump_generation(counts=False)
