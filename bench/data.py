"""The data the scenarios read and write, shaped like upstream's benchmark data."""

from __future__ import annotations

import base64
import json
from pathlib import Path

# A 1×1 PNG: the SVG endpoints require a PNG data URL next to the markup.
PNG = "data:image/png;base64," + base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4f20000000049454e44ae426082"
    )
).decode("ascii")


def icon_svg(size: int = 1200) -> str:
    """SVG markup of about ``size`` bytes."""
    head = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    shape = '<circle cx="50" cy="50" r="40" fill="#1f77b4" stroke="#333" stroke-width="2"/>'
    body = [head]
    while sum(map(len, body)) + len(shape) + 6 < size:
        body.append(shape)
    return "".join(body) + "</svg>"


def example(index: int) -> dict[str, object]:
    """One example of an example set (~400 bytes stored)."""
    return {
        "title": f"Eksempel {index + 1}",
        "description": "Brøker på tallinja: vis 3/4 og 6/8 og sammenlign dem.",
        "config": {
            "STEPS": {"count": 8, "start": 0, "end": 1},
            "CFG": {"labels": ["0", "1/4", "2/4", "3/4", "1"], "showGrid": True, "zoom": 1.5},
            "SIMPLE": {"values": [0.25, 0.5, 0.75], "color": "#1f77b4"},
        },
        "exampleNumber": str(index + 1),
        "isDefault": index == 0,
    }


def example_set(path: str) -> dict[str, object]:
    """What a PUT /api/examples sends: five examples (~2.3 kB as the API answers it)."""
    return {
        "path": path,
        "examples": [example(i) for i in range(5)],
        "deletedProvided": [],
        "updatedAt": "2024-05-01T12:00:00.000Z",
    }


def svg_entry(slug: str, svg_bytes: int = 1200) -> dict[str, object]:
    return {"slug": slug, "title": "Bench icon", "svg": icon_svg(svg_bytes), "png": PNG}


def figure(index: int) -> dict[str, object]:
    return {
        "slug": f"bench-figure-{index:03d}",
        "title": f"Figur {index}",
        "svg": icon_svg(600),
        "png": PNG,
        "category": {"id": f"kategori-{index % 5}", "label": f"Kategori {index % 5}"},
    }


def write_json(directory: Path, name: str, value: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    return path
