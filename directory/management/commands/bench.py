"""`make bench`: the performance budgets, measured on the full synthetic data set.

Seeds (or reuses) N specialists, then requests a fixed mix of pages in-process through Django's
test client, which runs the whole stack (middleware, views, queries, templates) without a
network. For every page it reports:

- `cold`: one request with the cache emptied first, as the first visitor after a restart of
  the cache sees it (the facet counts are computed then);
- `changed`: the first request after an editor saved a listing, with the page seen before (the
  last counts serve while they are counted again in a thread: directory.search.keys);
- `p50`/`p95`: server time over `--runs` further requests, as every later visitor sees it until
  the next change;
- `queries`: SQL queries of the cold request.

The mix ends with the FHIR API (fhirapi): searches by field and postcode, near a point and by
family name, and a read; each search must cost the same queries for a page of 1 and of 100
(at most API_MAX_QUERIES). Their p50/p95 are timed with the API's own cache emptied before
each request: the work of an answer, not a cache hit.

The budgets: p95 of the warm requests per page, and p95 over the whole mix of the `changed`
requests. It prints a table and writes bench/results.json.
"""

import json
import platform
import re
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse

from core.staticfiles import minify
from directory.management.commands.seed_demo import SLUG_PREFIX
from directory.models import Affiliation, Specialist
from directory.search import keys

SEARCH_BUDGET_MS = 30
PAGE_BUDGET_MS = 20
# The first request after a change to a listing, p95 over the mix.
CHANGED_BUDGET_MS = 200
MAX_QUERIES = 8
# An API search costs its count, its page, one query per to-many relation of the page and one
# or two per include (docs/api.md): three includes take more than a page's 8. What matters is
# that the number does not grow with _count, which the run checks.
API_MAX_QUERIES = 10
PAGE_WEIGHT_BUDGET = 60 * 1024
RESULTS = Path(settings.BASE_DIR) / "bench" / "results.json"

# (name, URL, budget in ms). Profile slugs are filled in from the seeded data.
SEARCH_MIX = [
    ("search: everything", "/en/specialists/"),
    ("search: page 50", "/en/specialists/?page=50"),
    ("text: a common name", "/de/specialists/?q=M%C3%BCller"),
    ("text: name with typo", "/en/specialists/?q=Schmidtt"),
    ("text: two names", "/en/specialists/?q=anna+weber"),
    ("text: field (German)", "/en/specialists/?q=Kardiologie"),
    ("text: condition + country", "/en/specialists/?q=lebermetastasen&country=DE"),
    ("text: field + city words", "/de/specialists/?q=onkologie+hamburg"),
    ("filters: country + language", "/en/specialists/?country=AT&language=en"),
    ("filters: insurance + new", "/en/specialists/?insurance=statutory&new_patients=1"),
    ("filters: field + 2 countries", "/en/specialists/?specialty=cardiology&country=CH&country=AT"),
    (
        "filters: many",
        "/en/specialists/?specialty=oncology&language=fr&language=it&insurance=private",
    ),
    ("filters: open now", "/en/specialists/?open_now=1"),
    ("filters: open now + field", "/de/specialists/?open_now=1&specialty=cardiology"),
    ("filters: Saturdays + step-free", "/en/specialists/?saturday=1&step_free=1"),
    ("filters: video + radius", "/en/specialists/?service=video&city=Berlin&radius=25"),
    ("filters: certified centre", "/en/specialists/?certified=1&country=AT"),
    ("filters: certified + condition", "/de/specialists/?condition=liver-metastases&certified=1"),
    ("sort: earliest appointment", "/en/specialists/?sort=earliest"),
    ("sort: earliest, page 50", "/en/specialists/?sort=earliest&page=50"),
    ("filters: free within 7 days", "/en/specialists/?free_soon=1"),
    ("filters: free soon + field", "/de/specialists/?free_soon=1&specialty=cardiology"),
    (
        "free soon + radius, earliest",
        "/de/specialists/?free_soon=1&city=Berlin&radius=25&sort=earliest",
    ),
    ("condition list, page 50", "/en/specialists/?condition=liver-metastases&page=50"),
    ("radius: Berlin 25 km", "/en/specialists/?city=Berlin&radius=25"),
    (
        "radius: Munich 50 km by distance",
        "/de/specialists/?city=M%C3%BCnchen&radius=50&sort=distance",
    ),
    (
        "radius + filters",
        "/en/specialists/?city=Zurich&radius=100&language=fr&specialty=internal-medicine",
    ),
    ("radius + text + page 3", "/en/specialists/?q=onkologie&city=hamburg&radius=50&page=3"),
    ("radius 500 km, page 50", "/en/specialists/?city=Frankfurt&radius=500&page=50"),
    ("lay word: Herzspezialist", "/de/specialists/?q=Herzspezialist"),
    ("lay words: skin doctor", "/en/specialists/?q=skin+doctor"),
    ("compound: Krebs", "/de/specialists/?q=Krebs"),
    ("title + name: Dr. Müller", "/de/specialists/?q=Dr.+M%C3%BCller"),
    ("name by sound: Schmitt", "/de/specialists/?q=Schmitt"),
    ("postcode as city", "/de/specialists/?city=10115"),
    ("field + postcode in q", "/de/specialists/?q=Kardiologe+80331"),
    ("field + place in q", "/en/specialists/?q=cardiologist+in+Hamburg"),
    ("district as city", "/de/specialists/?city=Hamburg-Altona&radius=10"),
]
SUGGEST_BUDGET_MS = 20
SUGGEST_MIX = [
    ("suggest: a field", "/de/suggest/?q=kardio"),
    ("suggest: a place", "/en/suggest/?q=hambu"),
    ("suggest: a name", "/de/suggest/?q=schm"),
    ("suggest: a postcode", "/de/suggest/?q=801"),
]
# The FHIR API (fhirapi): searches and a read, as a portal or app asks them. Codes, IDs and names
# are filled in from the seeded data; each search's queries must not depend on _count.
API_BUDGET_MS = 50


def percentile(times: list[float], percent: int) -> float:
    """A percentile of the times, interpolated between the two nearest ranks
    (`statistics.quantiles`, "inclusive" method: the 100th percentile is the slowest run)."""
    if len(times) == 1:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[percent - 1]


class Command(BaseCommand):
    help = "Measure server time and queries of the search, condition and profile pages."

    def add_arguments(self, parser):
        parser.add_argument("--specialists", type=int, default=520_000)
        parser.add_argument("--runs", type=int, default=30)
        parser.add_argument("--output", default=str(RESULTS))

    def handle(self, *args, specialists: int, runs: int, output: str, **options):
        if settings.DEBUG:
            raise CommandError("Run the benchmark with DEBUG off (make bench does).")
        call_command("load_reference", stdout=self.stdout)  # the vocabulary and the gazetteer
        seeded = Specialist.objects.filter(slug__startswith=SLUG_PREFIX).count()
        if seeded != specialists:
            self.stdout.write(f"Seeding {specialists} specialists (found {seeded}) ...")
            call_command("seed_demo", specialists=specialists, stdout=self.stdout)
        call_command("load_demo", stdout=self.stdout)  # the demo article, when it is missing
        pages = [(name, url, SEARCH_BUDGET_MS) for name, url in SEARCH_MIX]
        pages += [(name, url, SUGGEST_BUDGET_MS) for name, url in SUGGEST_MIX]
        pages += self._detail_pages()
        pages += self._api_pages()
        client = Client(headers={"host": "localhost"})
        self.edited = (
            Specialist.objects.filter(slug__startswith=SLUG_PREFIX, status="published")
            .order_by("-id")
            .first()
        )
        results = [self._measure(client, name, url, budget, runs) for name, url, budget in pages]
        self._print(results)
        changed = [result["changed_ms"] for result in results]
        changed_p95 = percentile(changed, 95)
        self.stdout.write(
            f"First request after a change, over the mix: p50 {percentile(changed, 50):.1f} ms, "
            f"p95 {changed_p95:.1f} ms (budget {CHANGED_BUDGET_MS} ms)."
        )
        pinned = self._api_queries_pinned(client, pages)
        self.stdout.write(
            "API searches: the same queries for _count=1 and _count=100: "
            + ("yes" if pinned else "no")
        )
        weight = self._page_weight(client, SEARCH_MIX[0][1])
        self.stdout.write(
            f"Search page weight: {weight['html_bytes'] + weight['css_js_bytes']:,} bytes "
            f"(HTML {weight['html_bytes']:,}, CSS and JS {weight['css_js_bytes']:,}; "
            f"budget {PAGE_WEIGHT_BUDGET:,}); other hosts requested: {weight['other_hosts']}"
        )
        report = {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "specialists": Specialist.objects.filter(slug__startswith=SLUG_PREFIX).count(),
            "runs_per_page": runs,
            "postgresql": connection.cursor().connection.info.server_version,
            "python": platform.python_version(),
            "cache": settings.CACHES["default"]["BACKEND"],
            "pages": results,
            "changed_p50_ms": round(percentile(changed, 50), 1),
            "changed_p95_ms": round(changed_p95, 1),
            "changed_budget_ms": CHANGED_BUDGET_MS,
            "search_page_weight": weight,
            "api_queries_pinned": pinned,
            "budgets_met": all(result["within_budget"] for result in results)
            and weight["within_budget"]
            and pinned
            and changed_p95 <= CHANGED_BUDGET_MS,
        }
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
        self.stdout.write(f"Wrote {path}.")
        if not report["budgets_met"]:
            self.stdout.write(self.style.WARNING("Some pages are over budget."))

    def _page_weight(self, client, url: str) -> dict:
        """HTML plus the stylesheets and scripts it loads, uncompressed, and any other host
        it would request (stylesheets, scripts, images, fonts, frames)."""
        html = client.get(url).content.decode()
        assets = re.findall(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"', html)
        assets = [a for a in assets if a.endswith((".css", ".js"))]
        size = 0
        for asset in assets:
            name = asset.removeprefix(settings.STATIC_URL).split("?")[0]
            # The source file, minified as collectstatic minifies it, else the collected one.
            source = finders.find(name)
            if source:
                size += len(minify(name, Path(source).read_text(encoding="utf-8")).encode())
            else:
                size += Path(staticfiles_storage.path(name)).stat().st_size
        sources = re.findall(r'(?:src|href|srcset|action)="((?:https?:)?//[^"/]+)', html)
        other_hosts = sorted({source for source in sources if "localhost" not in source})
        total = len(html.encode()) + size
        return {
            "html_bytes": len(html.encode()),
            "css_js_bytes": size,
            "other_hosts": other_hosts,
            "within_budget": total <= PAGE_WEIGHT_BUDGET and not other_hosts,
        }

    def _detail_pages(self) -> list[tuple[str, str, int]]:
        pages = []
        slugs = (
            Specialist.objects.filter(slug__startswith=SLUG_PREFIX, status="published")
            .order_by("id")
            .values_list("slug", flat=True)
        )
        for number, slug in enumerate(slugs[:: max(1, len(slugs) // 3)][:3] if slugs else []):
            pages.append((f"profile {number + 1}", f"/en/specialists/{slug}/", PAGE_BUDGET_MS))
        try:
            path = reverse("content:condition", kwargs={"slug": "liver-metastases"})
        except NoReverseMatch:  # the condition page comes with the content app
            return pages
        return [("condition page", path, PAGE_BUDGET_MS), *pages]

    def _api_pages(self) -> list[tuple[str, str, int]]:
        """The API mix, from the first published seeded specialist: roles by one of the
        specialist's fields and the postcode of the place of work (with the practitioners and
        locations included), the locations within 10 km of Berlin's centre, practitioners by the
        family name, and a read."""
        role = (
            Affiliation.objects.filter(
                specialist__slug__startswith=SLUG_PREFIX,
                specialist__status="published",
                specialist__specialties__isnull=False,
                clinic__status="published",
            )
            .select_related("specialist", "location")
            .order_by("specialist_id")
            .first()
        )
        pages = [("api: locations near Berlin", "/fhir/Location?near=52.52|13.405|10|km")]
        if role is not None:
            specialist = role.specialist
            field = specialist.specialties.order_by("slug").first()
            roles = (
                f"/fhir/PractitionerRole?specialty={field.slug}"
                f"&location.address-postalcode={quote(role.location.postcode)}"
                "&_include=PractitionerRole:practitioner&_include=PractitionerRole:location"
            )
            family = f"/fhir/Practitioner?family={quote(specialist.family_name)}"
            pages = [
                ("api: roles by field + postcode", roles),
                *pages,
                ("api: practitioners by family", family),
                ("api: practitioner by id", f"/fhir/Practitioner/{specialist.pk}"),
            ]
        return [(name, url, API_BUDGET_MS) for name, url in pages]

    def _api_queries_pinned(self, client, pages) -> bool:
        """Whether each API search costs the same queries for a page of 1 and of 100."""
        for _name, url, _budget in pages:
            if not url.startswith("/fhir/") or "?" not in url:
                continue
            counts = set()
            for count in (1, 100):
                queries = []

                def note(execute, sql, params, many, context, queries=queries):
                    queries.append(sql)
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(note):
                    client.get(f"{url}&_count={count}")
                counts.add(len(queries))
            if len(counts) > 1:
                self.stdout.write(f"{url}: queries differ with _count: {sorted(counts)}")
                return False
        return True

    def _measure(self, client, name, url, budget, runs) -> dict:
        cache.clear()
        queries = []

        def count(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            started = time.perf_counter()
            response = client.get(url)
            first = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}.")
        changed = self._after_a_change(client, url)
        api = url.startswith("/fhir/")
        times = []
        for _ in range(runs):
            if api:  # the API's own cache would answer in a millisecond: time the real work
                cache.clear()
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        p95 = percentile(times, 95)
        max_queries = API_MAX_QUERIES if api else MAX_QUERIES
        return {
            "name": name,
            "url": url,
            "budget_ms": budget,
            "first_ms": round(first, 1),
            "changed_ms": round(changed, 1),
            "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(p95, 1),
            "queries": len(queries),
            "within_budget": round(p95, 1) <= budget and len(queries) <= max_queries,
        }

    def _after_a_change(self, client, url: str) -> float:
        """The first request for a page seen before, after an editor changed a listing in a
        way the search sees (new patients or not): its time in ms. Then waits until the counts
        it found stale have been counted again, as the next visitor would find them."""
        client.get(url)
        self.edited.accepts_new_patients = not self.edited.accepts_new_patients
        self.edited.save()
        started = time.perf_counter()
        response = client.get(url)
        changed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code} after a change.")
        keys.wait_for_refreshes()
        return changed

    def _print(self, results: list[dict]) -> None:
        header = (
            f"{'page':<34} {'cold':>8} {'changed':>8} {'p50':>7} {'p95':>7} {'budget':>7} "
            f"{'queries':>7}"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in results:
            mark = "" if r["within_budget"] else "  over"
            self.stdout.write(
                f"{r['name']:<34} {r['first_ms']:>6.1f}ms {r['changed_ms']:>6.1f}ms "
                f"{r['p50_ms']:>5.1f}ms "
                f"{r['p95_ms']:>5.1f}ms {r['budget_ms']:>5}ms {r['queries']:>7}{mark}"
            )
