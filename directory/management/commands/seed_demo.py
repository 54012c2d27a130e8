# The SQL is assembled from this module's constants and integer IDs, never from input.
# ruff: noqa: S608, E501
"""Deterministic synthetic listings at scale, generated inside PostgreSQL.

Rows are made by INSERT ... SELECT over generate_series, and every "random" choice is a bit field
of hashtextextended(row number, seed), so the same --seed gives the same data whatever the order
or parallelism of the inserts. Synthetic rows carry slugs starting with SLUG_PREFIX; a new run
replaces them and leaves hand-made listings alone.
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from directory.hours import multirange, parse, week_ranges
from directory.models import Condition, Place, Specialty
from directory.search.index import rebuild_all

SLUG_PREFIX = "seed-"
SPECIALISTS_PER_CLINIC = 20
BATCH = 50_000
MAX_SPECIALISTS = 600_000
FIXED_TIME = "2026-01-01T00:00:00Z"

GIVEN_NAMES = [
    "Anna",
    "Lena",
    "Sophie",
    "Marie",
    "Laura",
    "Julia",
    "Sarah",
    "Katharina",
    "Johanna",
    "Clara",
    "Eva",
    "Hannah",
    "Miriam",
    "Theresa",
    "Elisabeth",
    "Barbara",
    "Monika",
    "Sabine",
    "Petra",
    "Andrea",
    "Claudia",
    "Stefanie",
    "Nicole",
    "Franziska",
    "Verena",
    "Ursula",
    "Lukas",
    "Jonas",
    "Felix",
    "Maximilian",
    "Paul",
    "Leon",
    "Tobias",
    "Florian",
    "Matthias",
    "Andreas",
    "Michael",
    "Thomas",
    "Stefan",
    "Christian",
    "Markus",
    "Martin",
    "Daniel",
    "Sebastian",
    "Alexander",
    "Philipp",
    "Johannes",
    "Jakob",
    "Simon",
    "David",
    "Georg",
    "Peter",
    "Wolfgang",
    "Jürgen",
    "Bernd",
    "Ralf",
    "Dominik",
    "Fabian",
    "Benedikt",
    "Valentin",
    "Moritz",
    "Emil",
    "Luca",
    "Nico",
    "Marco",
]
FAMILY_NAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
    "Gruber",
    "Steiner",
    "Moser",
    "Hofer",
    "Leitner",
    "Berger",
    "Pichler",
    "Wimmer",
    "Egger",
    "Lechner",
    "Brunner",
    "Aigner",
    "Ebner",
    "Schwarz",
    "Lehner",
    "Haas",
    "Baumgartner",
    "Mayr",
    "Gasser",
    "Meier",
    "Keller",
    "Widmer",
    "Frei",
    "Gerber",
    "Baumann",
    "Suter",
    "Brunner",
    "Zimmermann",
    "Moser",
    "Roth",
    "Graf",
    "Kälin",
    "Bühler",
    "Würsch",
]
PREFIXES = ["Dr. med.", "Dr. med.", "Dr. med.", "Prof. Dr. med.", "PD Dr. med.", "Dr.", ""]
HEADLINES = [
    "Senior consultant",
    "Head of department",
    "Specialist in private practice",
    "Consultant",
    "Deputy head of department",
]
CLINIC_WORDS = ["Klinikum", "Praxis", "Zentrum", "Spital", "Klinik", "Ambulatorium"]
CLINIC_KINDS = ["hospital", "practice", "centre", "hospital", "hospital", "centre"]


def _sql_array(values) -> str:
    return "ARRAY[" + ",".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def _int_array(values) -> str:
    return "ARRAY[" + ",".join(str(int(v)) for v in values) + "]::bigint[]"


# A non-negative pseudo-random 63-bit number per row, from the row number and the seed.
RANDOM = "(hashtextextended(i::text, %(seed)s) & 9223372036854775807)"


# Opening hours of the seeded locations (directory.hours), and the minutes of the week they give.
HOURS = [
    "Mo-Fr 08:00-12:00,14:00-18:00",
    "Mo-Th 08:00-18:00; Fr 08:00-13:00",
    "Mo-Fr 07:30-17:00; Sa 09:00-12:00",
    "Mo,Tu,Th 08:00-12:00,15:00-18:00; We,Fr 08:00-12:00",
    "Mo-Fr 08:00-16:00 appointment",
    "Mo-Su 00:00-24:00",
    "",
]
OPEN_MINUTES = [multirange(week_ranges(parse(text))) for text in HOURS]


class Command(BaseCommand):
    help = (
        "Generate N deterministic synthetic specialists with clinics, locations and "
        "affiliations across DE/AT/CH (replacing earlier synthetic ones)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--specialists", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, specialists: int, seed: int, **options) -> None:
        if not 0 <= specialists <= MAX_SPECIALISTS:
            raise CommandError(f"--specialists must be between 0 and {MAX_SPECIALISTS}.")
        if not Specialty.objects.exists() or not Condition.objects.exists():
            call_command("load_demo", stdout=self.stdout)
        started = time.monotonic()
        clinics = max(1, -(-specialists // SPECIALISTS_PER_CLINIC))
        params = {
            "seed": seed,
            "prefix": SLUG_PREFIX,
            "time": FIXED_TIME,
            "clinics": clinics,
        }
        place_ids = list(
            Place.objects.order_by("-population", "geonames_id").values_list("id", flat=True)[:1500]
        )
        specialty_ids = list(Specialty.objects.order_by("slug").values_list("id", flat=True))
        condition_ids = list(Condition.objects.order_by("slug").values_list("id", flat=True))
        if not place_ids:
            raise CommandError("The gazetteer is empty: run `manage.py migrate` first.")
        with transaction.atomic(), connection.cursor() as cursor:
            self._delete_previous(cursor)
            if specialists:
                self._clinics(cursor, params, place_ids)
                self._specialists(cursor, params, specialists, specialty_ids, condition_ids)
                self._slots(cursor, params)
        with connection.cursor() as cursor:
            # Statistics first: without them, on a new database, the planner joins the index's
            # lateral subqueries by scanning whole tables per specialist (hours, not minutes).
            cursor.execute(
                "ANALYZE directory_specialist, directory_affiliation, directory_location, "
                "directory_clinic, directory_specialistcondition, directory_specialist_specialties, "
                "directory_slot"
            )
        self.stdout.write("Building the search index ...")
        rebuild_all()  # analyses the index tables itself
        self.stdout.write(
            f"Seeded {specialists} specialists and {clinics if specialists else 0} clinics "
            f"in {time.monotonic() - started:.0f} s."
        )

    def _progress(self, label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        self.stdout.write(f"\r{label:<12} [{bar}] {done}/{total}", ending="")
        if done >= total:
            self.stdout.write("")
        self.stdout.flush()

    def _delete_previous(self, cursor) -> None:
        """Delete earlier synthetic rows, children first: Django's foreign keys cascade in
        Python, not in the database, so raw SQL must remove dependent rows itself."""
        self.stdout.write("Removing earlier synthetic data ...")
        specialists = "SELECT id FROM directory_specialist WHERE slug LIKE %(like)s"
        clinics = "SELECT id FROM directory_clinic WHERE slug LIKE %(like)s"
        locations = f"SELECT id FROM directory_location WHERE clinic_id IN ({clinics})"
        for statement in (
            f"DELETE FROM directory_appointmentrequest WHERE specialist_id IN ({specialists})",
            f"DELETE FROM directory_appointmentrequest WHERE clinic_id IN ({clinics})",
            f"DELETE FROM directory_factreport WHERE specialist_id IN ({specialists})",
            f"DELETE FROM directory_factreport WHERE clinic_id IN ({clinics})",
            f"DELETE FROM appointments_booking WHERE clinic_id IN ({clinics})",
            f"DELETE FROM directory_slot WHERE clinic_id IN ({clinics})",
            f"DELETE FROM directory_slotsource WHERE clinic_id IN ({clinics})",
            f"DELETE FROM directory_specialistsearch WHERE specialist_id IN ({specialists})",
            f"DELETE FROM directory_specialistcondition WHERE specialist_id IN ({specialists})",
            f"DELETE FROM directory_specialist_specialties WHERE specialist_id IN ({specialists})",
            f"DELETE FROM directory_affiliation WHERE specialist_id IN ({specialists})",
            f"DELETE FROM directory_affiliation WHERE clinic_id IN ({clinics})",
            "DELETE FROM directory_specialist WHERE slug LIKE %(like)s",
            f"DELETE FROM directory_locationfeature WHERE location_id IN ({locations})",
            f"DELETE FROM directory_closure WHERE location_id IN ({locations})",
            "DELETE FROM directory_certification_conditions WHERE certification_id IN "
            f"(SELECT id FROM directory_certification WHERE clinic_id IN ({clinics}))",
            f"DELETE FROM directory_certification WHERE clinic_id IN ({clinics})",
            f"DELETE FROM directory_location WHERE clinic_id IN ({clinics})",
            "DELETE FROM directory_clinic WHERE slug LIKE %(like)s",
        ):
            cursor.execute(statement, {"like": SLUG_PREFIX + "%"})

    def _clinics(self, cursor, params: dict, place_ids: list[int]) -> None:
        total = params["clinics"]
        places = _int_array(place_ids)
        for start in range(0, total, BATCH):
            end = min(start + BATCH, total) - 1
            cursor.execute(
                f"""
                INSERT INTO directory_clinic (created, modified, status, last_verified, name, slug,
                    kind, description, description_en, description_de, logo, website, phone,
                    email, needs_review)
                SELECT %(time)s, %(time)s, 'published', DATE '2026-01-01',
                    ({_sql_array(CLINIC_WORDS)})[1 + r %% {len(CLINIC_WORDS)}] || ' ' || p.name_de
                        || ' ' || i,
                    %(prefix)s || 'clinic-' || i,
                    ({_sql_array(CLINIC_KINDS)})[1 + r %% {len(CLINIC_KINDS)}],
                    '', 'A synthetic clinic for load tests.', 'Eine synthetische Klinik für Lasttests.',
                    '', '', '', '', false
                FROM generate_series({start}, {end}) AS i
                CROSS JOIN LATERAL (SELECT {RANDOM} AS r) AS random
                JOIN directory_place p ON p.id = ({places})[
                    1 + floor(power(((r >> 16) %% 10000) / 10000.0, 2) * {len(place_ids)})::int]
                """,
                params,
            )
            cursor.execute(
                f"""
                INSERT INTO directory_location (created, modified, clinic_id, name, street, postcode,
                    city, region, country, place_id, latitude, longitude, phone, opening_hours,
                    opening_hours_en, opening_hours_de, hours, closed_on_public_holidays,
                    open_minutes, holiday_region, accessibility_note, accessibility_note_en,
                    accessibility_note_de, hours_source, hours_confirmed_on)
                SELECT %(time)s, %(time)s, c.id, '', 'Hauptstraße ' || (1 + r %% 120),
                    lpad(((r >> 8) %% 90000 + 1000)::text, CASE WHEN p.country = 'DE' THEN 5 ELSE 4 END, '0'),
                    p.name_de, '', p.country, p.id,
                    p.latitude + (((r >> 24) %% 1000) - 500) / 20000.0,
                    p.longitude + (((r >> 34) %% 1000) - 500) / 15000.0,
                    '', '', '', '',
                    ({_sql_array(HOURS)})[1 + (r >> 44) %% {len(HOURS)}], true,
                    ({_sql_array(OPEN_MINUTES)})[1 + (r >> 44) %% {len(HOURS)}]::int4multirange,
                    p.country, '', '', '', 'import', current_date - ((r >> 50) %% 500)::integer
                FROM generate_series({start}, {end}) AS i
                CROSS JOIN LATERAL (SELECT {RANDOM} AS r) AS random
                JOIN directory_clinic c ON c.slug = %(prefix)s || 'clinic-' || i
                JOIN directory_place p ON p.id = ({places})[
                    1 + floor(power(((r >> 16) %% 10000) / 10000.0, 2) * {len(place_ids)})::int]
                """,
                params,
            )
            self._progress("clinics", end + 1, total)
        # Accessibility facts for a share of the locations, some older than FACT_MAX_AGE_DAYS.
        cursor.execute(
            """
            INSERT INTO directory_locationfeature (location_id, feature, present, source,
                confirmed_on)
            SELECT l.id, f.feature, (l.id / f.every) %% 7 <> 0, 'import',
                current_date - (l.id %% 500)::integer
            FROM directory_location l
            JOIN directory_clinic c ON c.id = l.clinic_id AND c.slug LIKE %(prefix)s || 'clinic-%%'
            CROSS JOIN (VALUES ('step_free', 2), ('lift', 3), ('accessible_toilet', 5))
                AS f(feature, every)
            WHERE l.id %% f.every = 0
            ON CONFLICT DO NOTHING
            """,
            params,
        )
        # A certification for every fourth clinic, covering one condition; some expired, some
        # not confirmed for FACT_MAX_AGE_DAYS.
        cursor.execute(
            """
            INSERT INTO directory_certification (clinic_id, title, title_en, title_de, issuer,
                valid_until, register_url, source, confirmed_on)
            SELECT c.id, 'Certified centre', 'Certified centre', 'Zertifiziertes Zentrum',
                'A certification programme (synthetic)',
                current_date + ((c.id %% 900) - 100)::integer, '', 'register',
                current_date - ((c.id / 4) %% 450)::integer
            FROM directory_clinic c
            WHERE c.slug LIKE %(prefix)s || 'clinic-%%' AND c.id %% 4 = 0
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO directory_certification_conditions (certification_id, condition_id)
            SELECT t.id, (SELECT id FROM directory_condition
                          ORDER BY id OFFSET t.clinic_id %% greatest(1, (SELECT count(*)
                              FROM directory_condition)) LIMIT 1)
            FROM directory_certification t
            JOIN directory_clinic c ON c.id = t.clinic_id AND c.slug LIKE %(prefix)s || 'clinic-%%'
            """,
            params,
        )

    def _slots(self, cursor, params: dict) -> None:
        """Free times for a share of the specialists (those of every third clinic, half of
        them), as if read from their practice software's feed: six each within three weeks
        of today, a few already past. The sources are not read (inactive), so the slots stay
        until the next seeding."""
        self.stdout.write("Adding free appointment times ...")
        cursor.execute(
            """
            INSERT INTO directory_slotsource (clinic_id, url, upload, active, transaction_time,
                last_modified, problem, skipped, slot_count)
            SELECT c.id, 'https://practice-software.invalid/' || c.slug || '/$bulk-publish',
                '', false, '', '', '', '', 0
            FROM directory_clinic c
            WHERE c.slug LIKE %(prefix)s || 'clinic-%%' AND c.id %% 3 = 0
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO directory_slot (source_id, external_id, clinic_id, location_id,
                affiliation_id, span, start, booking_url, booking_phone, booked)
            SELECT src.id, a.id || '-' || k, a.clinic_id, a.location_id, a.id,
                tstzrange(t.start, t.start + interval '20 minutes'), t.start, '', '', false
            FROM directory_slotsource src
            JOIN directory_clinic c ON c.id = src.clinic_id AND c.slug LIKE %(prefix)s || 'clinic-%%'
            JOIN directory_affiliation a ON a.clinic_id = src.clinic_id AND a.id %% 2 = 0
            CROSS JOIN generate_series(0, 5) AS k
            CROSS JOIN LATERAL (
                SELECT date_trunc('day', now()) + ((a.id + k * 5) %% 21) * interval '1 day'
                    + (8 + (a.id + k) %% 9) * interval '1 hour'
                    + ((a.id + k * 7) %% 3) * interval '20 minutes' AS start
            ) AS t
            """,
            params,
        )
        cursor.execute(
            """
            UPDATE directory_slotsource src SET slot_count = counted.n
            FROM (SELECT source_id, count(*) AS n FROM directory_slot GROUP BY source_id)
                AS counted
            WHERE counted.source_id = src.id
            """
        )

    def _specialists(self, cursor, params, total, specialty_ids, condition_ids) -> None:
        specialties = _int_array(specialty_ids)
        conditions = _int_array(condition_ids)
        languages = (
            "array_remove(ARRAY['de', CASE WHEN r % 3 <> 0 THEN 'en' END,"
            " CASE WHEN (r >> 3) % 7 = 0 THEN 'fr' END, CASE WHEN (r >> 6) % 11 = 0 THEN 'it' END,"
            " CASE WHEN (r >> 9) % 13 = 0 THEN 'tr' END, CASE WHEN (r >> 12) % 17 = 0 THEN 'ru' END,"
            " CASE WHEN (r >> 15) % 19 = 0 THEN 'ar' END, CASE WHEN (r >> 18) % 23 = 0 THEN 'pl' END,"
            " CASE WHEN (r >> 21) % 29 = 0 THEN 'hr' END], NULL)::varchar(2)[]"
        ).replace("%", "%%")
        insurance = (
            "(CASE (r >> 26) % 10 WHEN 0 THEN ARRAY['private','self_pay']"
            " WHEN 1 THEN ARRAY['statutory','private','self_pay'] WHEN 2 THEN ARRAY['statutory']"
            " ELSE ARRAY['statutory','private'] END)::varchar(10)[]"
        ).replace("%", "%%")
        for start in range(0, total, BATCH):
            end = min(start + BATCH, total) - 1
            cursor.execute(
                f"""
                CREATE TEMPORARY TABLE seed_rows ON COMMIT DROP AS
                SELECT i, r, g.name AS given_name, f.name AS family_name,
                    %(prefix)s || lower(translate(g.name || '-' || f.name, 'äöüßÄÖÜ', 'aousAOU'))
                        || '-' || i AS slug
                FROM generate_series({start}, {end}) AS i
                CROSS JOIN LATERAL (SELECT {RANDOM} AS r) AS random
                CROSS JOIN LATERAL (SELECT ({_sql_array(GIVEN_NAMES)})[
                    1 + (r >> 48) %% {len(GIVEN_NAMES)}] AS name) AS g
                CROSS JOIN LATERAL (SELECT ({_sql_array(FAMILY_NAMES)})[
                    1 + (r >> 52) %% {len(FAMILY_NAMES)}] AS name) AS f
                """,
                params,
            )
            cursor.execute(
                f"""
                INSERT INTO directory_specialist (created, modified, status, last_verified,
                    honorific_prefix, given_name, family_name, slug, photo, headline, headline_en,
                    biography, biography_en, biography_de, languages, insurance,
                    accepts_new_patients, memberships, certifications, phone, email, website,
                    languages_source, languages_confirmed_on, insurance_source,
                    insurance_confirmed_on, new_patients_source, new_patients_confirmed_on)
                SELECT %(time)s, %(time)s,
                    CASE WHEN r %% 50 = 0 THEN 'draft' ELSE 'published' END,
                    DATE '2026-01-01' - ((r >> 40) %% 700)::int,
                    ({_sql_array(PREFIXES)})[1 + (r >> 4) %% {len(PREFIXES)}],
                    given_name, family_name, slug,
                    '', ({_sql_array(HEADLINES)})[1 + (r >> 44) %% {len(HEADLINES)}],
                    ({_sql_array(HEADLINES)})[1 + (r >> 44) %% {len(HEADLINES)}],
                    '', 'A synthetic listing for load tests.',
                    'Ein synthetischer Eintrag für Lasttests.',
                    {languages}, {insurance}, (r >> 30) %% 6 <> 0,
                    '', '', '', '', '',
                    'import', current_date - ((r >> 33) %% 450)::integer,
                    'import', current_date - ((r >> 36) %% 450)::integer,
                    'practice', current_date - ((r >> 39) %% 450)::integer
                FROM seed_rows
                """,
                params,
            )
            cursor.execute(
                """
                CREATE TEMPORARY TABLE seed_batch ON COMMIT DROP AS
                SELECT s.id AS specialist_id, seed_rows.i, seed_rows.r
                FROM seed_rows JOIN directory_specialist s USING (slug)
                """
            )
            cursor.execute(
                f"""
                INSERT INTO directory_affiliation (created, modified, specialist_id, clinic_id,
                    location_id, role_title, is_primary, video_consultation, home_visits,
                    services_source, services_confirmed_on)
                SELECT %(time)s, %(time)s, b.specialist_id, l.clinic_id, l.id, '', true,
                    (b.r >> 40) %% 5 = 0, (b.r >> 43) %% 11 = 0, 'import',
                    current_date - ((b.r >> 46) %% 500)::integer
                FROM seed_batch b
                JOIN directory_clinic c ON c.slug = %(prefix)s || 'clinic-' || (b.i / {SPECIALISTS_PER_CLINIC})
                JOIN directory_location l ON l.clinic_id = c.id
                """,
                params,
            )
            cursor.execute(
                f"""
                INSERT INTO directory_specialist_specialties (specialist_id, specialty_id)
                SELECT DISTINCT b.specialist_id,
                    ({specialties})[1 + (b.r >> (k * 5)) %% {len(specialty_ids)}]
                FROM seed_batch b CROSS JOIN generate_series(0, 1) AS k
                WHERE k = 0 OR b.r %% 3 = 0
                """,
                params,
            )
            cursor.execute(
                f"""
                INSERT INTO directory_specialistcondition (specialist_id, condition_id, position)
                SELECT b.specialist_id, ({conditions})[1 + (b.r >> (k * 6 + 2)) %% {len(condition_ids)}],
                    k
                FROM seed_batch b CROSS JOIN generate_series(0, 2) AS k
                WHERE k <= b.r %% 3
                ON CONFLICT (specialist_id, condition_id) DO NOTHING
                """,
                params,
            )
            cursor.execute("DROP TABLE seed_batch, seed_rows")
            self._progress("specialists", end + 1, total)
