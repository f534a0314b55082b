"""Jinja2 rendering of the report's pages (autoescape on: every value is text), written atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from harness.atomic import atomic_write

TEMPLATES = Path(__file__).with_name("templates")


def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def write_page(env: Environment, template: str, path: Path, **context: Any) -> Path:
    text = env.get_template(template).render(**context)
    return atomic_write(path, lambda fh: fh.write(text))


def copy_static(name: str, out_dir: Path) -> Path:
    data = (TEMPLATES / name).read_bytes()
    return atomic_write(out_dir / name, lambda fh: fh.write(data), mode="wb")
