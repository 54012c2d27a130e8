"""Translated fields of the content app (django-modeltranslation): one column per language."""

from modeltranslation.translator import TranslationOptions, register

from content.models import Article


@register(Article)
class ArticleTranslation(TranslationOptions):
    fields = ("title", "summary", "body", "body_html", "reviewer_credentials")
    required_languages = {"en": ("title", "summary", "body"), "de": ("title", "summary", "body")}
