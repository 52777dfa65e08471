"""The README's screenshots, from the browser tests' artifacts: the top 1280×800 of each
page (what a person sees without scrolling), as a palette PNG to keep the repository small.

Run `make screenshots` (the browser tests, then this)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
OUT = ROOT / "docs" / "screenshots"
PAGES = (
    "sign-in",
    "work-queue",
    "queue-alerts",
    "claim-detail",
    "appeal-letter",
    "bulk-confirm",
    "pre-submission-check",
    "leadership-dashboard",
    "policy-simulated",
    "revops",
    "model-health",
)
VIEWPORT = (1280, 800)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        with Image.open(ARTIFACTS / f"{name}.png") as shot:
            top = shot.crop((0, 0, VIEWPORT[0], min(VIEWPORT[1], shot.height))).convert("RGB")
            top.quantize(colors=128).save(OUT / f"{name}.png", optimize=True)
        print(f"docs/screenshots/{name}.png")


if __name__ == "__main__":
    main()
