"""Neutral pictures for the demo listings, drawn here: a silhouette on a soft colour for a
portrait and a simple mark for a clinic's logo. Never a photo of a real person; the same seed
(a listing's slug) always gives the same picture."""

import hashlib
import io

from PIL import Image, ImageDraw

SIZE = 480
# Background and figure colours, muted so no placeholder looks like a real photo.
PORTRAIT_COLOURS = [
    ((214, 226, 236), (120, 144, 168)),
    ((227, 221, 238), (138, 124, 168)),
    ((218, 234, 224), (112, 150, 128)),
    ((238, 228, 214), (168, 140, 110)),
    ((232, 232, 232), (128, 132, 138)),
]
LOGO_COLOURS = [(11, 92, 140), (29, 107, 52), (120, 64, 140), (164, 80, 30), (60, 72, 88)]


def _choice(seed: str, options: list, salt: str = ""):
    digest = hashlib.sha256(f"{salt}{seed}".encode()).digest()
    return options[digest[0] % len(options)]


def portrait(seed: str) -> bytes:
    """A JPEG of a head-and-shoulders silhouette."""
    background, figure = _choice(seed, PORTRAIT_COLOURS)
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 90, 330, 290), fill=figure)  # head
    draw.ellipse((70, 320, 410, 700), fill=figure)  # shoulders
    output = io.BytesIO()
    image.save(output, "JPEG", quality=85)
    return output.getvalue()


def logo(seed: str) -> bytes:
    """A transparent PNG: a rounded square with a cross, a ring or a diamond in white."""
    colour = _choice(seed, LOGO_COLOURS)
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((40, 40, 440, 440), radius=80, fill=colour)
    white = (255, 255, 255, 255)
    mark = _choice(seed, ["cross", "ring", "diamond"], salt="mark")
    if mark == "cross":
        draw.rectangle((200, 110, 280, 370), fill=white)
        draw.rectangle((110, 200, 370, 280), fill=white)
    elif mark == "ring":
        draw.ellipse((120, 120, 360, 360), outline=white, width=44)
    else:
        draw.polygon([(240, 110), (370, 240), (240, 370), (110, 240)], fill=white)
        draw.polygon([(240, 180), (300, 240), (240, 300), (180, 240)], fill=colour)
    output = io.BytesIO()
    image.save(output, "PNG", optimize=True)
    return output.getvalue()
