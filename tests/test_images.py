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


def _rendition_pixels(settings, tmp_path, renditions, key: str, point=(2, 2)):
    path = tmp_path / renditions[0][key].removeprefix(settings.MEDIA_URL)
    with Image.open(path) as picture:
        assert "icc_profile" not in picture.info
        return picture.convert("RGBA").getpixel(point)


def _saved(picture: Image.Image, image_format: str, **options) -> bytes:
    output = io.BytesIO()
    picture.save(output, image_format, **options)
    return output.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["P", "L", "RGB"])
def test_a_logo_with_a_transparent_colour_keeps_its_transparent_background(
    settings, tmp_path, mode
):
    """Palette and grey PNGs mark transparency with one colour (tRNS), not an alpha channel."""
    from tests.factories import ClinicFactory

    settings.MEDIA_ROOT = tmp_path
    picture = Image.new("RGB", (400, 200), (255, 255, 255))
    picture.paste((0, 90, 160), (100, 50, 300, 150))
    if mode == "P":
        picture = picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
        transparency = picture.getpixel((2, 2))
    elif mode == "L":
        picture = picture.convert("L")
        transparency = 255
    else:
        transparency = (255, 255, 255)
    clinic = ClinicFactory(logo=upload(_saved(picture, "PNG", transparency=transparency), "l.png"))

    for key in ("url", "fallback"):  # WebP and PNG
        assert _rendition_pixels(settings, tmp_path, clinic.logo_renditions, key)[3] == 0
        inside = _rendition_pixels(
            settings,
            tmp_path,
            clinic.logo_renditions,
            key,
            point=(clinic.logo_renditions[0]["width"] // 2, 25),
        )
        assert inside[3] == 255


@pytest.mark.django_db
def test_a_sixteen_bit_grey_picture_keeps_its_shade(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    picture = Image.new("I;16", (400, 400), 128 * 257)  # mid grey in 16 bits
    specialist = SpecialistFactory(photo=upload(_saved(picture, "PNG"), "grey.png"))

    for key in ("url", "fallback"):
        red, green, blue, _alpha = _rendition_pixels(
            settings, tmp_path, specialist.photo_renditions, key
        )
        assert abs(red - 128) <= 3
        assert red == green == blue


@pytest.mark.django_db
def test_a_cmyk_photo_becomes_rgb(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    picture = Image.new("CMYK", (400, 400), (0, 255, 255, 0))  # pure red in print colours
    specialist = SpecialistFactory(photo=upload(_saved(picture, "JPEG"), "print.jpg"))

    with specialist.photo.open("rb") as stored, Image.open(stored) as kept:
        assert kept.mode == "RGB"
    for key in ("url", "fallback"):
        red, green, blue, _alpha = _rendition_pixels(
            settings, tmp_path, specialist.photo_renditions, key
        )
        assert red > 200
        assert green < 60
        assert blue < 60


def swapped_primaries_profile() -> bytes:
    """An ICC v2 RGB profile whose red primary is sRGB's green and whose green is sRGB's red,
    with linear curves: a pixel tagged with it that says "red" is green on screen."""
    import struct

    def fixed(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + fixed(x) + fixed(y) + fixed(z)

    description = b"Swapped primaries\0"
    tags = [
        (
            b"desc",
            b"desc"
            + bytes(4)
            + struct.pack(">I", len(description))
            + description
            + bytes(4 + 4 + 2 + 1 + 67),
        ),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)),  # sRGB's green
        (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", b"curv" + bytes(4) + struct.pack(">I", 0)),
        (b"gTRC", b"curv" + bytes(4) + struct.pack(">I", 0)),
        (b"bTRC", b"curv" + bytes(4) + struct.pack(">I", 0)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8 + 4)
        + fixed(0.9642)
        + fixed(1.0)
        + fixed(0.8249)
        + bytes(4 + 16 + 28)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


@pytest.mark.django_db
@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_colour_profile_is_applied_to_the_pixels_and_not_kept(settings, tmp_path, image_format):
    """A picture in another colour space shows its own colours once the profile is gone."""
    settings.MEDIA_ROOT = tmp_path
    picture = Image.new("RGB", (400, 400), (255, 0, 0))
    data = _saved(picture, image_format, icc_profile=swapped_primaries_profile())
    specialist = SpecialistFactory(photo=upload(data, f"wide.{image_format.lower()}"))

    with specialist.photo.open("rb") as stored, Image.open(stored) as kept:
        assert "icc_profile" not in kept.info
        red, green, _blue = kept.convert("RGB").getpixel((2, 2))
        assert green > 200
        assert red < 60
    for key in ("url", "fallback"):
        red, green, _blue, _alpha = _rendition_pixels(
            settings, tmp_path, specialist.photo_renditions, key
        )
        assert green > 200
        assert red < 60


@pytest.mark.django_db
def test_a_profile_that_does_not_fit_the_pixels_is_ignored(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    picture = Image.new("RGB", (400, 400), (30, 160, 90))
    data = _saved(picture, "JPEG", icc_profile=b"not a profile at all", quality=95)
    specialist = SpecialistFactory(photo=upload(data, "odd.jpg"))

    red, green, blue, _alpha = _rendition_pixels(
        settings, tmp_path, specialist.photo_renditions, "fallback"
    )
    assert abs(red - 30) <= 8
    assert abs(green - 160) <= 8
    assert abs(blue - 90) <= 8
