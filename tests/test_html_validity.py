"""Every public page type is valid HTML, in both languages: the Nu HTML checker (npm's
vnu-jar, run on the machine's Java) reads them all in one run."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_seo import site  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

VNU = Path(__file__).resolve().parent.parent / "node_modules/vnu-jar/build/dist/vnu.jar"

PAGES = [
    "/{lang}/",
    "/{lang}/specialists/",
    "/{lang}/specialists/?q=aurich&city=Erfurt&radius=50",
    "/{lang}/specialists/?radius=abc",
    "/{lang}/specialists/lena-aurich/",
    "/{lang}/specialists/lena-aurich/request/",
    "/{lang}/specialists/lena-aurich/request/sent/",
    "/{lang}/clinics/",
    "/{lang}/clinics/?city=Erfurt&sort=distance",
    "/{lang}/clinics/klinikum-stadtpark/",
    "/{lang}/conditions/",
    "/{lang}/conditions/liver-metastases/",
    "/{lang}/specialties/visceral-surgery/",
]


def checker() -> list[str]:
    java = shutil.which("java")
    if java and VNU.exists():
        return [java, "-Xss1024k", "-jar", str(VNU)]
    if os.environ.get("CI"):
        pytest.fail(f"The Nu HTML checker needs Java and {VNU} (make install-checks).")
    pytest.skip("Java or the Nu HTML checker is missing (make install-checks)")


def test_public_pages_are_valid_html(client, site, tmp_path):  # noqa: F811
    command = checker()
    files = []
    for language in ("en", "de"):
        for number, page in enumerate(PAGES):
            url = page.format(lang=language)
            response = client.get(url)
            assert response.status_code in {200, 400}, url
            path = tmp_path / f"{language}-{number}.html"
            path.write_bytes(response.content)
            files.append((path, url))
        # The form sent with errors, as a patient sees it.
        response = client.post(f"/{language}/specialists/lena-aurich/request/", {"name": ""})
        path = tmp_path / f"{language}-form-errors.html"
        path.write_bytes(response.content)
        files.append((path, f"POST /{language}/specialists/lena-aurich/request/"))

    result = subprocess.run(  # noqa: S603 - a fixed command on our own files
        [*command, "--format", "json", "--errors-only", *(str(path) for path, _url in files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    messages = json.loads(result.stderr or result.stdout)["messages"]
    urls = {path.name: url for path, url in files}
    problems = [
        f"{urls.get(Path(m.get('url', '')).name, m.get('url'))}:{m.get('lastLine')}: {m['message']}"
        for m in messages
    ]
    assert problems == [], "\n".join(problems)
