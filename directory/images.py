"""Photos and logos: checked on upload, stripped of metadata, served only as WebP renditions.

Editors upload JPEG, PNG or WebP up to MAX_BYTES and MAX_PIXELS. On save the original is
re-encoded without EXIF (GPS included), named after a hash of its content, and renditions named
after it are written for `srcset`: WebP in each of RENDITION_WIDTHS, and the same widths as a
fallback for browsers without WebP (JPEG for portraits, PNG for logos, which are often
transparent). Templates use only the renditions, never the original; `manage.py
write_renditions` writes any that are missing (after a restore, or when the widths change).
"""

import hashlib
import io
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
RENDITION_WIDTHS = (160, 320, 640)
RENDITION_DIR = "renditions"
# The fallback formats and their file extensions.
FALLBACK_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


def validate_image(file) -> None:
    """Model-field validator: an image of an allowed type within the size limits.

    Reads only the header to check the pixel count before decoding anything.
    """
    if file.size > MAX_BYTES:
        raise ValidationError(
            _("The image is larger than 10 MB. Please upload a smaller file."), code="too_large"
        )
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format = image.format
            width, height = image.size
            if image_format in ALLOWED_FORMATS and width * height <= MAX_PIXELS:
                # Decode every pixel: a truncated or damaged file fails here, in the form,
                # rather than later when its metadata is stripped.
                image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ):
        raise ValidationError(
            _("This file is not an image we can read. Please upload a JPEG, PNG or WebP file."),
            code="invalid_image",
        ) from None
    finally:
        file.seek(position)
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(
            _("Only JPEG, PNG and WebP images are accepted."), code="invalid_format"
        )
    if width * height > MAX_PIXELS:
        raise ValidationError(
            _("The image has more than 40 megapixels. Please upload a smaller image."),
            code="too_many_pixels",
        )


def _open_upright(data: bytes) -> Image.Image:
    """The picture's pixels, turned as its EXIF orientation says, as RGB or RGBA in sRGB,
    without any metadata.

    Pillow writes some of what it read back when saving (a JPEG's comment, for one), so nothing
    it read is kept: the colour profile is applied to the pixels instead (a Display P3 portrait
    or a CMYK JPEG keeps its colours), and a palette or a transparent colour becomes an alpha
    channel (a logo keeps its transparent background).
    """
    image = Image.open(io.BytesIO(data))
    image.load()
    upright = _in_srgb(ImageOps.exif_transpose(image), image.info.get("icc_profile"))
    upright.info = {}
    return upright


SRGB = ImageCms.createProfile("sRGB")


def _in_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    alpha = "A" in image.getbands() or "transparency" in image.info
    target = "RGBA" if alpha else "RGB"
    if image.mode.startswith("I"):  # 16 or 32 bits of grey: scale to 8 rather than clip
        image = image.point(lambda value: value / 257).convert("L")
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            if image.mode not in {"RGB", "RGBA", "CMYK", "L"}:
                image = image.convert(target)
            return ImageCms.profileToProfile(image, source, SRGB, outputMode=target)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a profile that does not fit the pixels: take them as they are
    return image.convert(target)


def strip_metadata(field_file: FieldFile) -> None:
    """Replace a not yet saved upload with the same picture re-encoded without metadata.

    The orientation stored in EXIF is applied to the pixels first, so the picture stays upright.
    """
    field_file.seek(0)
    data = field_file.read()
    image = _open_upright(data)
    image_format = Image.open(io.BytesIO(data)).format
    output = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(output, "JPEG", quality=90, optimize=True)
    elif image_format == "PNG":
        image.save(output, "PNG", optimize=True)
    else:
        image.save(output, "WEBP", quality=90)
    # Named after the picture itself: renditions are named after the stored file, so two
    # uploads called doc.jpg and doc.png (or IMG_1.JPG and IMG_1.jpg) never share them.
    data = output.getvalue()
    extension = {"JPEG": ".jpg", "PNG": ".png"}.get(image_format, ".webp")
    name = hashlib.sha256(data).hexdigest()[:24] + extension
    field_file.save(name, ContentFile(data), save=False)


def rendition_name(original_name: str, width: int, extension: str = "webp") -> str:
    original = PurePosixPath(original_name)
    return str(original.parent / RENDITION_DIR / f"{original.stem}-{width}w.{extension}")


def rendition_names(original_name: str, fallback: str) -> list[str]:
    """Every rendition file of a stored image: WebP and the fallback format, in each width."""
    return [
        rendition_name(original_name, width, extension)
        for width in RENDITION_WIDTHS
        for extension in ("webp", FALLBACK_EXTENSIONS[fallback])
    ]


def _encode(image: Image.Image, image_format: str) -> bytes:
    output = io.BytesIO()
    if image_format == "WEBP":
        image.save(output, "WEBP", quality=82, method=4)
    elif image_format == "JPEG":
        if image.mode == "RGBA":
            # JPEG has no transparency: lay the picture on white, as a page would show it.
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image, mask=image.getchannel("A"))
            image = background
        image.save(output, "JPEG", quality=82, optimize=True, progressive=True)
    else:
        image.save(output, "PNG", optimize=True)
    return output.getvalue()


def write_renditions(field_file: FieldFile, fallback: str = "JPEG", missing_only=False) -> int:
    """Write the renditions of the stored image, WebP and `fallback` ("JPEG" or "PNG") for each
    of RENDITION_WIDTHS (never upscaled). Returns how many files were written."""
    storage = field_file.storage
    extension = FALLBACK_EXTENSIONS[fallback]
    wanted = [
        (width, image_format, rendition_name(field_file.name, width, suffix))
        for width in RENDITION_WIDTHS
        for image_format, suffix in (("WEBP", "webp"), (fallback, extension))
    ]
    if missing_only:
        wanted = [item for item in wanted if not storage.exists(item[2])]
    if not wanted:
        return 0
    with storage.open(field_file.name, "rb") as stored:
        image = _open_upright(stored.read())
    for width, image_format, name in wanted:
        copy = image.copy()
        copy.thumbnail((width, width * 4))
        if storage.exists(name):
            storage.delete(name)
        storage.save(name, ContentFile(_encode(copy, image_format)))
    return len(wanted)


def renditions(field_file: FieldFile, fallback: str = "JPEG") -> list[dict]:
    """Each rendition, smallest first: its width, the WebP `url` and the `fallback` URL (JPEG or
    PNG) for `<picture>`, `srcset` and for places that want a classic format (og:image)."""
    if not field_file:
        return []
    storage = field_file.storage
    extension = FALLBACK_EXTENSIONS[fallback]
    return [
        {
            "url": storage.url(rendition_name(field_file.name, width)),
            "fallback": storage.url(rendition_name(field_file.name, width, extension)),
            "width": width,
        }
        for width in RENDITION_WIDTHS
    ]


def process_uploaded_image(instance, field_name: str) -> bool:
    """Call before saving a model: strips metadata from a new upload in `field_name`.

    Returns True when there was a new upload, so the caller writes renditions after saving.
    """
    field_file = getattr(instance, field_name)
    if field_file and not field_file._committed:
        strip_metadata(field_file)
        return True
    return False


class ProcessedImagesMixin:
    """For models whose `image_fields` map each image field to its fallback format ("JPEG" or
    "PNG"): strips each new upload's metadata before saving and writes its renditions after."""

    image_fields: dict[str, str] = {}

    def save(self, *args, **kwargs):
        uploaded = [name for name in self.image_fields if process_uploaded_image(self, name)]
        super().save(*args, **kwargs)
        for name in uploaded:
            write_renditions(getattr(self, name), self.image_fields[name])
