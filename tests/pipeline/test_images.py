"""Image sizes from headers: real images measured right, hostile ones refused before decoding."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from openproctor.pipeline import images
from openproctor.pipeline.images import ImageRefused, ImageSize, ImageTooLarge
from tests.hostile_images import jpeg_declaring, png_declaring

FIXTURES = Path(__file__).parent.parent / "fixtures"
VGA = ImageSize(640, 480)


def encoded(size: tuple[int, int], form: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, form, **options)
    return out.getvalue()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.jpg")), ids=lambda p: p.name)
def test_the_declared_size_of_real_photos_is_what_pillow_reads(path: Path) -> None:
    with Image.open(path) as image:
        assert images.declared_size(path.read_bytes()) == ImageSize(*image.size)


def test_progressive_jpeg_and_png() -> None:
    progressive = encoded((300, 200), "JPEG", progressive=True)
    assert progressive.count(b"\xff\xda") > 1  # several scans: really progressive
    assert images.declared_size(progressive) == ImageSize(300, 200)
    assert images.declared_size(encoded((300, 200), "PNG")) == ImageSize(300, 200)
    assert images.decode(progressive, VGA).shape == (200, 300, 3)


def test_a_frame_fits_its_limit_either_way_round() -> None:
    assert images.check(encoded((480, 640), "JPEG"), VGA) == ImageSize(480, 640)
    for size in ((641, 480), (640, 481), (481, 641)):
        with pytest.raises(ImageTooLarge, match=f"declares {size[0]}x{size[1]} pixels"):
            images.check(encoded(size, "JPEG"), VGA)


@pytest.mark.parametrize("bomb", [jpeg_declaring(30000, 30000), png_declaring(30000, 30000)])
def test_a_huge_declared_size_is_refused_without_decoding(bomb: bytes) -> None:
    assert len(bomb) < 700
    assert images.declared_size(bomb) == ImageSize(30000, 30000)
    with pytest.raises(ImageTooLarge) as refused:
        images.decode(bomb, images.STILL_LIMIT)
    assert str(refused.value) == (
        "the image declares 30000x30000 pixels; at most 3840x2160 is accepted"
    )
    assert refused.value.status_code == 413


def test_every_truncation_of_a_header_is_refused_clearly() -> None:
    photo = (FIXTURES / "pai_webcam_center.jpg").read_bytes()
    frame_header = photo.index(b"\xff\xc0")
    for end in range(frame_header + 9):
        with pytest.raises(ImageRefused, match=r"truncated|damaged|not a JPEG or PNG"):
            images.declared_size(photo[:end])
    png = encoded((20, 10), "PNG")
    for end in range(24):
        with pytest.raises(ImageRefused, match=r"truncated|not a JPEG or PNG"):
            images.declared_size(png[:end])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a\x01\x00\x01\x00", "not a JPEG or PNG image"),
        (b"\xff\xd8" + b"0" * 4096, "the JPEG header is truncated or damaged"),
        (b"\xff\xd8\xff\xe0\x00\x01" + b"\x00" * 64, "the JPEG header is truncated or damaged"),
        (b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 64, "no frame header before its image data"),
        (b"\xff\xd8" + b"\xff\xfe\x00\x02" * 100, "more than 64 segments"),
        (jpeg_declaring(0, 480), "declares no size"),
        (png_declaring(640, 0), "declares no size"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dtEXt" + b"\x00" * 16, "PNG header is truncated or"),
    ],
)
def test_garbage_is_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRefused, match=reason):
        images.declared_size(data)


def test_a_jpeg_of_endless_scans_is_refused() -> None:
    # Each scan of a progressive JPEG is a pass over the whole image: thousands of tiny ones
    # make a small file slow to decode.
    photo = encoded((64, 48), "JPEG", progressive=True)
    end = photo.rindex(b"\xff\xd9")
    scan = photo[photo.rindex(b"\xff\xda") : end]
    many = photo[:end] + scan * images.MAX_JPEG_SCANS + photo[end:]
    with pytest.raises(ImageRefused, match="more than 100 scans"):
        images.declared_size(many)


def test_damaged_pixels_behind_a_good_header_are_refused_on_decode() -> None:
    photo = encoded((64, 48), "JPEG")
    header_only = photo[: photo.index(b"\xff\xda")]
    assert images.check(header_only, VGA) == ImageSize(64, 48)
    with pytest.raises(ImageRefused, match="damaged"):
        images.decode(header_only, VGA)
