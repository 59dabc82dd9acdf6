"""A .y4m video of a QR code, for Chromium's fake camera (--use-file-for-fake-video-capture).

Y4M is raw YUV 4:2:0 frames after a one-line header, so it can be written with Pillow
alone: the QR is drawn in grey levels on the luma plane and the chroma planes stay neutral.
Chromium loops the file, so the code stays in front of the "camera" for as long as the test.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image


def qr_frame(text: str, width: int = 640, height: int = 480) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=10, border=4)
    qr = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    side = min(width, height) - 60
    qr = qr.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (width, height), 235)  # a light grey "desk" around the badge
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    return frame


def write_y4m(path: Path, frames: list[Image.Image], fps: int = 10) -> Path:
    width, height = frames[0].size
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(frame.convert("L").tobytes())
            out.write(chroma)
            out.write(chroma)
    return path


def qr_video(path: Path, text: str, *, frames: int = 10) -> Path:
    """Write a video showing the QR of `text` in every frame."""
    frame = qr_frame(text)
    return write_y4m(path, [frame] * frames)
