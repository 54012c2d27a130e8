"""Structured data of the condition pages: a MedicalWebPage about a MedicalCondition (or a
MedicalProcedure, for treatments), with its medical review; and of the site's own pages: a
WebPage (a ContactPage for the contact page) published by the operator."""

from django.conf import settings
from django.http import HttpRequest

from content.models import Article, Page
from core import languages
from directory.models import Condition, ConditionKind, lines
from directory.seo import SCHEMA, absolute


def medical_web_page(
    request: HttpRequest, condition: Condition, article: Article | None, sources: list[dict]
) -> dict:
    url = absolute(request, request.path)
    about = {
        "@type": "MedicalProcedure"
        if condition.kind == ConditionKind.TREATMENT
        else "MedicalCondition",
        "name": condition.name,
        **({"alternateName": lines(condition.synonyms)} if condition.synonyms else {}),
    }
    if condition.icd10:
        about["code"] = {
            "@type": "MedicalCode",
            "codeValue": condition.icd10,
            "codingSystem": "ICD-10",
        }
    data = {
        "@context": SCHEMA,
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        # The language the text is in: English where the article is not yet translated.
        "inLanguage": (article and languages.shown_language(article, "body"))
        or request.LANGUAGE_CODE,
        "name": article.title if article else condition.name,
        "about": about,
    }
    if article:
        data["description"] = article.summary
        if article.reviewed_on:
            data["lastReviewed"] = article.reviewed_on.isoformat()
        if article.reviewer_name:
            data["reviewedBy"] = {
                "@type": "Person",
                "name": article.reviewer_name,
                **(
                    {"jobTitle": article.reviewer_credentials}
                    if article.reviewer_credentials
                    else {}
                ),
            }
        data["citation"] = [
            {"@type": "CreativeWork", "name": source["title"], "url": source["url"]}
            for source in sources
        ]
    return data


def web_page(request: HttpRequest, page: Page) -> dict:
    url = absolute(request, request.path)
    data = {
        "@context": SCHEMA,
        "@type": "ContactPage" if page.kind == Page.Kind.CONTACT else "WebPage",
        "@id": url,
        "url": url,
        "inLanguage": languages.shown_language(page, "body") or request.LANGUAGE_CODE,
        "name": page.title,
        "description": page.summary,
        "dateModified": page.modified.isoformat(),
    }
    if settings.OPERATOR_NAME:
        data["publisher"] = {
            "@type": "Organization",
            "name": settings.OPERATOR_NAME,
            **({"email": settings.OPERATOR_EMAIL} if settings.OPERATOR_EMAIL else {}),
            **({"telephone": settings.OPERATOR_PHONE} if settings.OPERATOR_PHONE else {}),
        }
    return data
