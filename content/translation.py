"""Translated fields of the content app (django-modeltranslation): one column per language."""

from modeltranslation.translator import TranslationOptions, register

from content.models import Article, Page

BOTH_LANGUAGES = {"en": ("title", "summary", "body"), "de": ("title", "summary", "body")}


@register(Article)
class ArticleTranslation(TranslationOptions):
    fields = ("title", "summary", "body", "body_html", "reviewer_credentials")
    required_languages = BOTH_LANGUAGES


@register(Page)
class PageTranslation(TranslationOptions):
    fields = ("title", "summary", "body", "body_html")
    required_languages = BOTH_LANGUAGES
