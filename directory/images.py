"""Photos and logos: checked on upload, stripped of metadata, served only as WebP renditions.

Editors upload JPEG, PNG or WebP up to MAX_BYTES and MAX_PIXELS. On save the original is
re-encoded without EXIF (GPS included), named after a hash of its content, and WebP renditions
named after it are written for `srcset`; templates use
only the renditions, never the original.
"""

import hashlib
import io
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
RENDITION_WIDTHS = (160, 320, 640)
RENDITION_DIR = "renditions"


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
    """The picture's pixels, turned as its EXIF orientation says, without any metadata.

    Pillow writes some of what it read back when saving (a JPEG's comment, for one), so the
    metadata it read is dropped here; only the colour profile stays, which keeps colours right.
    """
    image = Image.open(io.BytesIO(data))
    image.load()
    upright = ImageOps.exif_transpose(image)
    icc_profile = upright.info.get("icc_profile")
    upright.info = {"icc_profile": icc_profile} if icc_profile else {}
    return upright


def strip_metadata(field_file: FieldFile) -> None:
    """Replace a not yet saved upload with the same picture re-encoded without metadata.

    The orientation stored in EXIF is applied to the pixels first, so the picture stays upright.
    """
    field_file.seek(0)
    data = field_file.read()
    image = _open_upright(data)
    image_format = Image.open(io.BytesIO(data)).format
    profile = {"icc_profile": image.info["icc_profile"]} if "icc_profile" in image.info else {}
    output = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(output, "JPEG", quality=90, optimize=True, **profile)
    elif image_format == "PNG":
        image.save(output, "PNG", optimize=True, **profile)
    else:
        image.save(output, "WEBP", quality=90, **profile)
    # Named after the picture itself: renditions are named after the stored file, so two
    # uploads called doc.jpg and doc.png (or IMG_1.JPG and IMG_1.jpg) never share them.
    data = output.getvalue()
    extension = {"JPEG": ".jpg", "PNG": ".png"}.get(image_format, ".webp")
    name = hashlib.sha256(data).hexdigest()[:24] + extension
    field_file.save(name, ContentFile(data), save=False)


def rendition_name(original_name: str, width: int) -> str:
    original = PurePosixPath(original_name)
    return str(original.parent / RENDITION_DIR / f"{original.stem}-{width}w.webp")


def write_renditions(field_file: FieldFile) -> None:
    """Write a WebP rendition of the stored image for each of RENDITION_WIDTHS (never upscaled)."""
    storage = field_file.storage
    with storage.open(field_file.name, "rb") as stored:
        image = _open_upright(stored.read())
    if image.mode not in {"RGB", "RGBA"}:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    for width in RENDITION_WIDTHS:
        copy = image.copy()
        copy.thumbnail((width, width * 4))
        output = io.BytesIO()
        copy.save(output, "WEBP", quality=82, method=4)
        name = rendition_name(field_file.name, width)
        if storage.exists(name):
            storage.delete(name)
        storage.save(name, ContentFile(output.getvalue()))


def renditions(field_file: FieldFile) -> list[dict]:
    """URL and width of each rendition, smallest first, for `src` and `srcset`."""
    if not field_file:
        return []
    storage = field_file.storage
    return [
        {"url": storage.url(rendition_name(field_file.name, width)), "width": width}
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
    """For models with image fields named in `image_fields`: strips each new upload's metadata
    before saving and writes its renditions after."""

    image_fields: tuple[str, ...] = ()

    def save(self, *args, **kwargs):
        uploaded = [name for name in self.image_fields if process_uploaded_image(self, name)]
        super().save(*args, **kwargs)
        for name in uploaded:
            write_renditions(getattr(self, name))
