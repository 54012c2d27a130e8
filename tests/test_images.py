"""Uploaded photos: type and size limits, metadata stripped, WebP renditions."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from directory import images
from directory.images import RENDITION_WIDTHS, validate_image
from tests.factories import SpecialistFactory


def image_bytes(image_format="JPEG", size=(800, 600), exif: bytes | None = None) -> bytes:
    output = io.BytesIO()
    picture = Image.new("RGB", size, (200, 120, 40))
    if exif is not None:
        picture.save(output, image_format, exif=exif)
    else:
        picture.save(output, image_format)
    return output.getvalue()


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS IFD with a latitude
    return exif.tobytes()


def upload(data: bytes, name="photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted(image_format):
    validate_image(upload(image_bytes(image_format)))


def test_other_image_types_are_refused_with_a_clear_message():
    with pytest.raises(ValidationError, match="Only JPEG, PNG and WebP"):
        validate_image(upload(image_bytes("GIF"), "photo.gif"))


def test_a_file_that_is_not_an_image_is_refused():
    with pytest.raises(ValidationError, match="not an image we can read"):
        validate_image(upload(b"%PDF-1.7 definitely not a picture", "photo.jpg"))


def test_files_over_ten_megabytes_are_refused(monkeypatch):
    monkeypatch.setattr(images, "MAX_BYTES", 1000)

    with pytest.raises(ValidationError, match="larger than 10 MB"):
        validate_image(upload(image_bytes(size=(400, 400))))


def test_images_over_forty_megapixels_are_refused(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)

    with pytest.raises(ValidationError, match="more than 40 megapixels"):
        validate_image(upload(image_bytes(size=(101, 100))))


@pytest.mark.django_db
def test_saving_a_photo_strips_exif_and_writes_webp_and_jpeg_renditions(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    original = image_bytes(size=(1200, 900), exif=exif_with_gps())
    assert Image.open(io.BytesIO(original)).getexif()  # the upload does carry EXIF

    specialist = SpecialistFactory(photo=upload(original))

    with specialist.photo.open("rb") as stored:
        assert not Image.open(stored).getexif()
    renditions = specialist.photo_renditions
    assert [r["width"] for r in renditions] == list(RENDITION_WIDTHS)
    for rendition in renditions:
        for key, image_format in (("url", "WEBP"), ("fallback", "JPEG")):
            path = tmp_path / rendition[key].removeprefix(settings.MEDIA_URL)
            with Image.open(path) as picture:
                assert picture.format == image_format
                assert picture.width == rendition["width"]
                assert not picture.getexif()


def image_with_metadata(image_format: str) -> bytes:
    """A picture carrying EXIF with GPS and the format's own comment or text metadata."""
    from PIL.PngImagePlugin import PngInfo

    output = io.BytesIO()
    picture = Image.new("RGB", (900, 600), (40, 120, 200))
    options = {"exif": exif_with_gps()}
    if image_format == "JPEG":
        options["comment"] = b"Patient file 4711"
    elif image_format == "PNG":
        text = PngInfo()
        text.add_text("Comment", "Patient file 4711")
        options["pnginfo"] = text
    else:
        options["xmp"] = b"<x:xmpmeta>Patient file 4711</x:xmpmeta>"
    picture.save(output, image_format, **options)
    return output.getvalue()


def assert_without_metadata(stored_bytes: bytes) -> None:
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert not stored.getexif()
        assert "Patient file" not in repr(stored.info)
    assert b"Patient file" not in stored_bytes
    assert b"Camera maker" not in stored_bytes


@pytest.mark.django_db
@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("owner", ["specialist photo", "clinic logo"])
def test_every_format_is_stored_without_metadata_for_photos_and_logos(
    settings, tmp_path, image_format, owner
):
    from tests.factories import ClinicFactory

    settings.MEDIA_ROOT = tmp_path
    original = image_with_metadata(image_format)
    assert b"Patient file" in original  # it does carry them
    assert b"Camera maker" in original
    name = f"picture.{image_format.lower()}"
    if owner == "clinic logo":
        clinic = ClinicFactory(logo=upload(original, name))
        field, renditions = clinic.logo, clinic.logo_renditions
    else:
        specialist = SpecialistFactory(photo=upload(original, name))
        field, renditions = specialist.photo, specialist.photo_renditions

    with field.open("rb") as stored:
        assert_without_metadata(stored.read())
    assert len(renditions) == len(RENDITION_WIDTHS)
    for rendition in renditions:
        for key in ("url", "fallback"):
            path = tmp_path / rendition[key].removeprefix(settings.MEDIA_URL)
            assert_without_metadata(path.read_bytes())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "names", [("doc.jpg", "doc.png"), ("IMG_1.JPG", "IMG_1.jpg")], ids=["extension", "case"]
)
def test_photos_with_the_same_name_never_share_renditions(settings, tmp_path, names):
    """Each doctor's own face: renditions are named after the picture, not the upload's name."""
    settings.MEDIA_ROOT = tmp_path
    colours = [(200, 30, 30), (30, 30, 200)]
    people = []
    for name, colour in zip(names, colours, strict=True):
        output = io.BytesIO()
        image_format = "PNG" if name.endswith("png") else "JPEG"
        Image.new("RGB", (400, 400), colour).save(output, image_format)
        people.append(SpecialistFactory(photo=upload(output.getvalue(), name)))

    first, second = (person.photo_renditions for person in people)
    assert {r["url"] for r in first}.isdisjoint(r["url"] for r in second)
    for person, colour in zip(people, colours, strict=True):
        for rendition in person.photo_renditions:
            path = tmp_path / rendition["url"].removeprefix(settings.MEDIA_URL)
            with Image.open(path) as picture:
                red, _green, blue = picture.convert("RGB").getpixel((10, 10))
                assert (red > blue) == (colour[0] > colour[2])
