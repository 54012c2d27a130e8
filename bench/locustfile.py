"""The load test's users (locust): patients on public pages, and a trivial view for comparison.
Run by bench/loadtest.py; the pages come from the demo data (or seed_demo's)."""

import random
import re

from locust import FastHttpUser, constant, task

SEARCHES = [
    "/en/specialists/",
    "/de/specialists/?q=Lebermetastasen",
    "/en/specialists/?q=liver&country=DE",
    "/en/specialists/?city=Berlin&radius=50",
    "/de/specialists/?specialty=oncology&insurance=statutory&page=2",
    "/en/specialists/?q=mueller&language=en",
    "/en/clinics/?country=AT",
]


class Patient(FastHttpUser):
    """Home, search, condition page, profile and clinic pages, as patients use them."""

    wait_time = constant(0)
    profiles: list[str] = []

    def on_start(self):
        if not Patient.profiles:
            html = self.client.get("/en/conditions/liver-metastases/", name="setup").text
            Patient.profiles = sorted(
                set(re.findall(r'href="(/en/specialists/[a-z0-9-]+/)"', html))
            )

    @task(2)
    def home(self):
        self.client.get(random.choice(["/en/", "/de/"]), name="home")  # noqa: S311

    @task(5)
    def search(self):
        self.client.get(random.choice(SEARCHES), name="search")  # noqa: S311

    @task(3)
    def condition(self):
        self.client.get("/en/conditions/liver-metastases/", name="condition page")

    @task(4)
    def profile(self):
        self.client.get(random.choice(Patient.profiles), name="profile")  # noqa: S311


class ConditionPage(FastHttpUser):
    """Only the condition page, for the throughput budget (at least half the trivial view's)."""

    wait_time = constant(0)

    @task
    def condition(self):
        self.client.get("/en/conditions/liver-metastases/", name="condition page")


class SearchPage(FastHttpUser):
    """Only the search pages of the mix, for the same throughput comparison."""

    wait_time = constant(0)

    @task
    def search(self):
        self.client.get(random.choice(SEARCHES), name="search")  # noqa: S311


class Trivial(FastHttpUser):
    """Only /healthz: one query, no template, the trivial view the budget compares with."""

    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/healthz", name="healthz")
