"""Driver photos: only real images, size limit, EXIF rotation, badge size and thumbnail."""

import base64
import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from drivers import photos


def image_bytes(size=(800, 600), fmt="JPEG", color=(200, 30, 30), exif_orientation=None, mode="RGB"):
    image = Image.new(mode, size, color)
    out = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def test_it_stores_a_portrait_badge_photo_and_a_thumbnail_as_jpeg():
    result = photos.process(image_bytes((1280, 960)))
    badge = Image.open(io.BytesIO(result.badge.read()))
    thumb = Image.open(io.BytesIO(result.thumb.read()))
    assert (badge.format, badge.size) == ("JPEG", photos.BADGE_SIZE)
    assert (thumb.format, thumb.size) == ("JPEG", photos.THUMB_SIZE)


def test_it_applies_the_exif_rotation():
    # A phone photo stored landscape with "rotate 90" in its EXIF is really a portrait:
    # left half red, right half blue, rotated 90° clockwise puts red on top.
    image = Image.new("RGB", (800, 400), "red")
    image.paste(Image.new("RGB", (400, 400), "blue"), (400, 0))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    image.save(out, format="JPEG", exif=exif.tobytes())
    badge = Image.open(io.BytesIO(photos.process(out.getvalue()).badge.read())).convert("RGB")
    top, bottom = badge.getpixel((225, 20)), badge.getpixel((225, 580))
    assert top[0] > 200 and top[2] < 60, top  # red on top after the rotation
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_it_accepts_png_with_transparency_on_white():
    result = photos.process(image_bytes((300, 400), fmt="PNG", mode="RGBA", color=(0, 0, 0, 0)))
    badge = Image.open(io.BytesIO(result.badge.read()))
    assert badge.getpixel((10, 10))[0] > 240


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 this is a pdf renamed to photo.jpg",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        image_bytes()[:400],  # a truncated JPEG: the header says image, the pixels do not decode
        b"",
    ],
    ids=["pdf", "svg", "truncated-jpeg", "empty"],
)
def test_it_refuses_what_is_not_a_real_image(data):
    with pytest.raises(ValidationError) as error:
        photos.process(data)
    assert error.value.code == "not_an_image"


def test_it_refuses_a_photo_over_the_size_limit(settings):
    settings.DRIVER_PHOTO_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as error:
        photos.process(image_bytes((800, 600)))
    assert error.value.code == "too_large"
    assert "MB" in error.value.messages[0]


def test_it_reads_a_webcam_data_url_and_refuses_a_fake_one():
    data = image_bytes()
    assert photos.read_data_url("data:image/jpeg;base64," + base64.b64encode(data).decode()) == data
    with pytest.raises(ValidationError):
        photos.read_data_url("data:text/html;base64," + base64.b64encode(b"<script>").decode())
    with pytest.raises(ValidationError):
        photos.process(photos.read_data_url("data:image/png;base64," + base64.b64encode(b"not a png").decode()))
