"""Reading images: a cheap header check for the index, cv2 decoding, and the normalised tensor.

`looks_like_image` reads the first bytes only (the index of a 118k-image split must stay fast);
a file that passes it may still fail to decode, which `read_image` reports as None.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")

_MEAN_255 = [float(m) * 255.0 for m in IMAGENET_MEAN]
_INV_STD_255 = [1.0 / (float(s) * 255.0) for s in IMAGENET_STD]


def looks_like_image(path: str | Path) -> bool:
    """True when the file exists and starts like a JPEG, PNG, BMP, TIFF or WebP file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def read_image(path: str | Path) -> np.ndarray | None:
    """HxWx3 uint8 BGR, or None when the file cannot be decoded.

    EXIF orientation is ignored: the annotations of COCO & co. are in the stored pixel frame.
    """
    return cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)


def to_tensor(crop_bgr: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 BGR crop -> 3xHxW float32 RGB, ImageNet-normalised.

    Channel by channel on contiguous planes: several times faster than a strided HWC -> CHW
    float conversion, and single-threaded (no oversubscription inside DataLoader workers).
    """
    blue, green, red = cv2.split(crop_bgr)
    out = np.empty((3,) + crop_bgr.shape[:2], np.float32)
    for i, plane in enumerate((red, green, blue)):
        out[i] = plane
        out[i] -= _MEAN_255[i]
        out[i] *= _INV_STD_255[i]
    return torch.from_numpy(out)
