"""Driver photos: accept only real images, store a badge-size JPEG and a thumbnail.

A photo comes from an upload or from the booth's webcam (a data URL). Either way it is
decoded with Pillow, never trusted by its name or content type: a renamed PDF or a
truncated JPEG is refused with a translated message before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

# Portrait 3:4, like an ID photo; 450x600 prints sharp at the card's 21x28 mm.
BADGE_SIZE = (450, 600)
THUMB_SIZE = (120, 160)
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}
# A phone photo is ~12-50 Mpx; anything far bigger is a decompression bomb, not a face.
MAX_PIXELS = 60_000_000
DATA_URL_RE = re.compile(r"^data:image/(?:jpeg|png|webp);base64,(?P<data>[A-Za-z0-9+/=\s]+)$")


def max_bytes() -> int:
    return getattr(settings, "DRIVER_PHOTO_MAX_BYTES", 5 * 1024 * 1024)


def _too_large() -> ValidationError:
    return ValidationError(
        _("The photo is too large: at most %(mb)s MB.") % {"mb": max_bytes() // (1024 * 1024)},
        code="too_large",
    )


def _not_an_image() -> ValidationError:
    return ValidationError(
        _("This file is not a photo (JPEG, PNG or WebP). Take the photo again or choose another file."),
        code="not_an_image",
    )


@dataclass
class ProcessedPhoto:
    badge: ContentFile
    thumb: ContentFile


def read_upload(uploaded) -> bytes:
    """The bytes of an uploaded file, refusing it when bigger than the limit."""
    if uploaded.size is not None and uploaded.size > max_bytes():
        raise _too_large()
    uploaded.seek(0)
    data = uploaded.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise _too_large()
    return data


def read_data_url(text: str) -> bytes:
    """The bytes of a webcam capture sent as a data URL."""
    # base64 is 4/3 of the bytes: refuse before decoding a huge string.
    if len(text) > max_bytes() * 4 // 3 + 100:
        raise _too_large()
    match = DATA_URL_RE.match(text.strip())
    if not match:
        raise _not_an_image()
    try:
        data = base64.b64decode("".join(match["data"].split()), validate=True)
    except (binascii.Error, ValueError):
        raise _not_an_image() from None
    if len(data) > max_bytes():
        raise _too_large()
    return data


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ALLOWED_FORMATS:
                raise _not_an_image()
            width, height = probe.size
            if width * height > MAX_PIXELS or width < 16 or height < 16:
                raise _not_an_image()
            probe.verify()  # structure and checksums; the image cannot be used after this
            image = Image.open(io.BytesIO(data))
            image.load()  # the pixels really decode (a truncated file fails here)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, EOFError):
        raise _not_an_image() from None
    return image


def _jpeg(image: Image.Image, size: tuple[int, int], quality: int) -> ContentFile:
    fitted = ImageOps.fit(image, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    out = io.BytesIO()
    fitted.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return ContentFile(out.getvalue(), name="photo.jpg")


def process(data: bytes) -> ProcessedPhoto:
    """Decode `data`, apply its EXIF rotation, crop to portrait and return the two JPEGs.

    Raises ValidationError (codes not_an_image, too_large) for anything else.
    """
    if len(data) > max_bytes():
        raise _too_large()
    image = _decode(data)
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not lose a good photo
        pass
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    else:
        image = image.convert("RGB")
    # The 0.4 vertical centring keeps the head when a landscape webcam frame is cropped.
    return ProcessedPhoto(badge=_jpeg(image, BADGE_SIZE, 88), thumb=_jpeg(image, THUMB_SIZE, 80))


def prepare(photo) -> ProcessedPhoto:
    """`photo` processed: image bytes, an uploaded file, or a ProcessedPhoto already."""
    if isinstance(photo, ProcessedPhoto):
        return photo
    return process(photo if isinstance(photo, bytes) else read_upload(photo))


def store(driver, photo: ProcessedPhoto) -> list[str]:
    """Write the processed photo's two files (new names) and put them on `driver` (not
    saved); returns the new file names, to delete if the driver is not saved after all."""
    driver.photo.save("photo.jpg", photo.badge, save=False)
    driver.photo_thumb.save("thumb.jpg", photo.thumb, save=False)
    return [driver.photo.name, driver.photo_thumb.name]


def delete_files(names: list[str]) -> None:
    """Delete replaced files from the media storage; one that cannot be deleted (a shared
    folder or a bucket briefly out of reach) is logged and left behind, never an error."""
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001 - OSError from a folder, botocore's errors from S3
            log.warning("could not delete the replaced media file %s", name, exc_info=True)
