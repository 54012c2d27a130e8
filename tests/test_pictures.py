"""Portraits and logos on the pages: WebP with a JPEG or PNG fallback, fixed sizes, lazy below
the top, initials without a picture; uploads under `make run`; the admin's preview; the command
that writes missing renditions; the demo's drawn placeholders."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from directory.images import RENDITION_WIDTHS
from directory.models import Clinic, Specialist
from directory.templatetags.pictures import initials
from tests.factories import AffiliationFactory, ClinicFactory, LocationFactory, SpecialistFactory

pytestmark = pytest.mark.django_db


def picture_upload(image_format="JPEG", mode="RGB", name="upload.jpg") -> SimpleUploadedFile:
    output = io.BytesIO()
    colour = (30, 90, 160, 0) if mode == "RGBA" else (30, 90, 160)
    Image.new(mode, (500, 400), colour).save(output, image_format)
    return SimpleUploadedFile(name, output.getvalue())


def on_disk(settings, tmp_path, url: str):
    return tmp_path / url.removeprefix(settings.MEDIA_URL)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def tags(html: str, name: str) -> list[str]:
    return re.findall(rf"<{name}\b[^>]*>", html)


def attribute(tag: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    return match.group(1) if match else None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Hedda Kornmaier", "HK"),
        ("Anna-Lena von der Heide", "AH"),
        ("Özlem Çelik", "ÖÇ"),
        ("Müller", "M"),
        ("ßara Ilić", "SI"),  # one letter each, though "ß".upper() is "SS"
        ("ǆenana Ǉubić", "ǄǇ"),
        ("Zentrum für Leberchirurgie", "ZL"),
        ("", ""),
    ],
)
def test_initials_take_the_first_and_the_last_word(name, expected):
    assert initials(name) == expected


def test_a_logo_keeps_its_transparency_in_a_png_fallback(media, settings):
    clinic = ClinicFactory(logo=picture_upload("PNG", "RGBA", "logo.png"))
    for rendition in clinic.logo_renditions:
        with Image.open(on_disk(settings, media, rendition["fallback"])) as fallback:
            assert fallback.format == "PNG"
            assert fallback.mode == "RGBA"
            assert fallback.getpixel((5, 5))[3] == 0


def test_a_transparent_portrait_falls_back_to_jpeg_on_white(media, settings):
    specialist = SpecialistFactory(photo=picture_upload("PNG", "RGBA", "portrait.png"))
    smallest = specialist.photo_renditions[0]
    with Image.open(on_disk(settings, media, smallest["fallback"])) as fallback:
        assert fallback.format == "JPEG"
        assert min(fallback.getpixel((5, 5))) > 240  # white, not black


def test_search_cards_show_the_portrait_sized_and_lazy_or_the_initials(client, media):
    with_photo = AffiliationFactory(
        specialist__given_name="Hedda",
        specialist__family_name="Kornmaier",
        specialist__photo=picture_upload(),
    ).specialist
    AffiliationFactory(specialist__given_name="Jonas", specialist__family_name="Pilz")

    text = client.get("/en/specialists/").text

    pictures = tags(text, "img")
    [img] = [tag for tag in pictures if "card__picture" in tag]
    assert attribute(img, "width") == attribute(img, "height") == "64"
    assert attribute(img, "loading") == "lazy"
    assert attribute(img, "alt") == ""  # the name beside it is the link; no echo for readers
    renditions = with_photo.photo_renditions
    assert attribute(img, "src") == renditions[0]["fallback"]
    assert attribute(img, "src").endswith(".jpg")
    [source] = tags(text, "source")
    assert attribute(source, "type") == "image/webp"
    assert (
        attribute(source, "srcset") == f"{renditions[0]['url']} 160w, {renditions[1]['url']} 320w"
    )
    assert attribute(source, "sizes") == "64px"
    assert re.search(r'<span class="card__picture initials" aria-hidden="true">JP</span>', text)


def test_a_profile_shows_the_portrait_at_once_and_a_classic_format_to_link_previews(client, media):
    specialist = SpecialistFactory(
        given_name="Hedda", family_name="Kornmaier", slug="hedda", photo=picture_upload()
    )
    text = client.get("/en/specialists/hedda/").text

    [img] = [tag for tag in tags(text, "img") if "profile__photo" in tag]
    assert attribute(img, "alt") == f"Photo of {specialist.display_name}"
    assert attribute(img, "width") == attribute(img, "height") == "160"
    assert attribute(img, "loading") is None  # at the top of the page: not lazy
    [source] = tags(text, "source")
    assert len(attribute(source, "srcset").split(", ")) == len(RENDITION_WIDTHS)
    og_image = re.search(r'<meta property="og:image" content="([^"]+)"', text).group(1)
    assert og_image.endswith(specialist.photo_renditions[-1]["fallback"])
    assert og_image.endswith(".jpg")


def test_a_profile_without_photo_shows_the_initials(client):
    SpecialistFactory(given_name="Jonas", family_name="Pilz", slug="jonas")
    text = client.get("/de/specialists/jonas/").text
    assert '<span class="profile__photo initials" aria-hidden="true">JP</span>' in text
    assert "<img" not in text.split("<main", 1)[1].split("</header>", 1)[0]


def test_clinic_cards_and_pages_show_the_logo(client, media):
    clinic = ClinicFactory(
        name="Leberzentrum Nord", slug="leber", logo=picture_upload("PNG", "RGBA", "l.png")
    )
    LocationFactory(clinic=clinic)
    LocationFactory(clinic=ClinicFactory(name="Praxis Ohnelogo"))

    listing = client.get("/en/clinics/").text
    [img] = [tag for tag in tags(listing, "img") if "card__picture--logo" in tag]
    assert attribute(img, "src") == clinic.logo_renditions[0]["fallback"]
    assert attribute(img, "src").endswith(".png")
    assert "PO</span>" in listing

    page = client.get("/en/clinics/leber/").text
    [img] = [tag for tag in tags(page, "img") if "profile__logo" in tag]
    assert attribute(img, "alt") == "Logo of Leberzentrum Nord"
    assert attribute(img, "width") == attribute(img, "height") == "160"
    # A clinic page without a logo shows none, and no letters either.
    other = Clinic.objects.get(name="Praxis Ohnelogo")
    assert "profile__logo" not in client.get(other.get_absolute_url()).text


def test_uploads_are_served_under_make_run_only(client, media, settings):
    specialist = SpecialistFactory(photo=picture_upload())
    url = specialist.photo_renditions[0]["url"]

    settings.SERVE_MEDIA = True
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"RIFF"  # WebP
    outside = client.get(settings.MEDIA_URL + "../config/settings.py")
    assert outside.status_code in (400, 404)  # never the file
    too_long = client.get(settings.MEDIA_URL + "a" * 300 + ".webp")  # longer than a file name
    assert too_long.status_code == 404
    assert client.get(settings.MEDIA_URL + "a/%00.webp").status_code in (400, 404)

    settings.SERVE_MEDIA = False
    assert client.get(url).status_code == 404


def test_the_admin_previews_the_photo_and_the_logo(client, media, editor):
    specialist = SpecialistFactory(photo=picture_upload())
    bare = SpecialistFactory()
    clinic = ClinicFactory(logo=picture_upload("PNG", "RGBA", "l.png"))
    client.force_login(editor)

    page = client.get(f"/admin/directory/specialist/{specialist.pk}/change/").text
    assert f'<img src="{specialist.photo_renditions[0]["url"]}" width="160"' in page
    page = client.get(f"/admin/directory/specialist/{bare.pk}/change/").text
    assert "No picture uploaded yet." in page
    page = client.get(f"/admin/directory/clinic/{clinic.pk}/change/").text
    assert f'<img src="{clinic.logo_renditions[0]["url"]}" width="160"' in page


def test_write_renditions_writes_what_is_missing_and_reports_lost_originals(
    media, settings, capsys
):
    specialist = SpecialistFactory(photo=picture_upload())
    clinic = ClinicFactory(logo=picture_upload("PNG", "RGBA", "l.png"))
    lost = SpecialistFactory(photo=picture_upload("PNG", name="lost.png"))
    gone = [
        on_disk(settings, media, specialist.photo_renditions[1]["fallback"]),
        on_disk(settings, media, clinic.logo_renditions[2]["url"]),
    ]
    for path in gone:
        path.unlink()
    (media / lost.photo.name).unlink()

    call_command("write_renditions")

    assert all(path.exists() for path in gone)
    output = capsys.readouterr()
    assert "2 renditions written for 2 pictures." in output.out
    assert lost.photo.name in output.err
    call_command("write_renditions", "--all")
    assert "12 renditions written for 2 pictures." in capsys.readouterr().out


def test_the_demo_draws_placeholder_pictures_for_most_listings(media, settings):
    call_command("load_demo")

    specialists = list(Specialist.objects.all())
    with_photo = [s for s in specialists if s.photo]
    assert len(specialists) / 2 < len(with_photo) < len(specialists)
    for specialist in with_photo[:3]:
        for rendition in specialist.photo_renditions:
            assert on_disk(settings, media, rendition["url"]).exists()
            assert on_disk(settings, media, rendition["fallback"]).exists()
    assert Clinic.objects.exclude(logo="").exists()
    assert Clinic.objects.filter(logo="").exists()

    before = {s.slug: s.photo.name for s in with_photo}
    call_command("load_demo")  # adds nothing, draws nothing again
    assert {s.slug: s.photo.name for s in Specialist.objects.exclude(photo="")} == before
