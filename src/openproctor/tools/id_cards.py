"""Generated ID cards for tests and measurement: never a real document.

A card is ISO ID-1 shaped (85.6 x 54 mm at 10 px/mm), says "SPECIMEN - NOT A REAL DOCUMENT",
and carries a portrait cut from a given photo, the given and family names in capitals (as
most IDs print them) and made-up fields (birth date, document number, expiry) from a seeded
generator. `held_to_camera` puts it in a 640x480 webcam frame the way a candidate shows it:
smaller, turned in perspective, blurred and noisy, optionally over their own picture.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from openproctor.detectors.base import Box, Frame

CARD_W, CARD_H = 856, 540
PORTRAIT = Box(40.0, 130.0, 290.0, 460.0)  # where the photo goes: 250 x 330 px (3:4)
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Fonts with every accented Latin letter (Pillow's built-in Aileron lacks Ř, Å, Ç and more,
# so a card printed with it would not carry the name).
FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansCondensed.ttf",
)
WEBCAM_W, WEBCAM_H = 640, 480


@dataclass(frozen=True, slots=True)
class CardText:
    given: str
    family: str
    font: str = "DejaVuSans.ttf"
    seed: int = 0


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """A DejaVu font (Debian's fonts-dejavu-core, which `make test` installs)."""
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _date(rng: random.Random, first_year: int, last_year: int) -> str:
    return f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(first_year, last_year)}"


def portrait(photo: Frame, face: Box) -> Frame:
    """A 3:4 head-and-shoulders cut of `photo` around the face box (the face about 60% of its
    width), sized for the card; the parts outside the photo are grey."""
    face_w = face.x2 - face.x1
    width = face_w / 0.6
    height = width * 4 / 3
    cx, cy = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
    x1, y1 = cx - width / 2, cy - height * 0.45
    source = np.array([[x1, y1], [x1 + width, y1], [x1, y1 + height]], np.float32)
    pw, ph = int(PORTRAIT.x2 - PORTRAIT.x1), int(PORTRAIT.y2 - PORTRAIT.y1)
    target = np.array([[0, 0], [pw, 0], [0, ph]], np.float32)
    warp = cv2.getAffineTransform(source, target)
    cut = cv2.warpAffine(photo, warp, (pw, ph), borderValue=(200, 200, 200))
    return np.asarray(cut, np.uint8)


def card(text: CardText, face_photo: Frame | None) -> Frame:
    """The card as a BGR image, CARD_W x CARD_H."""
    rng = random.Random(text.seed)
    image = Image.new("RGB", (CARD_W, CARD_H), (236, 240, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, CARD_W, 100), fill=(40, 80, 140))
    draw.text((40, 22), "IDENTITY CARD", font=_font("DejaVuSans-Bold.ttf", 40), fill="white")
    draw.text((520, 36), "SPECIMEN - NOT A REAL DOCUMENT", font=_font(FONTS[0], 18), fill="white")
    label, value = _font(text.font, 20), _font(text.font, 34)
    fields = (
        ("Surname", text.family.upper()),
        ("Given names", text.given.upper()),
        (
            "Date of birth",
            f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1960, 2006)}",
        ),
        ("Document no.", f"X{rng.randint(0, 10**8 - 1):08d}"),
        ("Expiry", _date(rng, 2027, 2036)),
    )
    y = 125
    for caption, shown in fields:
        draw.text((320, y), caption, font=label, fill=(90, 90, 90))
        draw.text((320, y + 22), shown, font=value, fill=(10, 10, 10))
        y += 78
    bgr = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)
    x1, y1, x2, y2 = (int(v) for v in PORTRAIT.xyxy)
    if face_photo is not None:
        bgr[y1:y2, x1:x2] = face_photo
    else:
        bgr[y1:y2, x1:x2] = (200, 200, 200)
    return np.asarray(bgr, np.uint8)


@dataclass(frozen=True, slots=True)
class Shot:
    """How the card is shown to the camera: its width in the frame, turn, blur and noise."""

    width: int = 420
    tilt_deg: float = 0.0  # in-plane rotation
    turn: float = 0.0  # perspective: the right edge this share shorter than the left
    blur: float = 0.0  # Gaussian sigma, px
    noise: float = 0.0  # Gaussian sigma, grey levels
    jpeg_quality: int = 90


def held_to_camera(face_card: Frame, shot: Shot, background: Frame | None = None) -> bytes:
    """The card in a 640x480 webcam frame (over `background`, letterboxed, or plain grey) as
    the JPEG a browser would send."""
    frame = np.full((WEBCAM_H, WEBCAM_W, 3), 90, np.uint8)
    if background is not None:  # letterboxed: scaled to fit, centred
        bh, bw = background.shape[:2]
        scale = min(WEBCAM_W / bw, WEBCAM_H / bh)
        w, h = round(bw * scale), round(bh * scale)
        x, y = (WEBCAM_W - w) // 2, (WEBCAM_H - h) // 2
        frame[y : y + h, x : x + w] = cv2.resize(background, (w, h), interpolation=cv2.INTER_AREA)
    h = shot.width * CARD_H / CARD_W
    # Held in front of the chest, below the face.
    cx, cy = WEBCAM_W / 2, WEBCAM_H - h / 2 - 10
    shrink = h * shot.turn / 2
    corners = np.array(
        [
            [-shot.width / 2, -h / 2],
            [shot.width / 2, -h / 2 + shrink],
            [shot.width / 2, h / 2 - shrink],
            [-shot.width / 2, h / 2],
        ],
        np.float32,
    )
    angle = np.deg2rad(shot.tilt_deg)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32
    )
    target = np.asarray(corners @ rotation.T + np.array([cx, cy], np.float32), np.float32)
    source = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32)
    warp = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(face_card, warp, (WEBCAM_W, WEBCAM_H))
    mask = cv2.warpPerspective(np.full((CARD_H, CARD_W), 255, np.uint8), warp, (WEBCAM_W, WEBCAM_H))
    frame[mask > 127] = warped[mask > 127]
    if shot.blur > 0:
        frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), shot.blur), np.uint8)
    if shot.noise > 0:
        noise = np.random.default_rng(0).normal(0, shot.noise, frame.shape)
        frame = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, shot.jpeg_quality])
    assert ok
    return encoded.tobytes()


def jpeg(image: Frame, quality: int = 90) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return encoded.tobytes()
