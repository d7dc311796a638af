"""Where the tests' recorded vendor payloads live: copies of ../shared/fixtures (their SOURCES.md
files say where each came from), kept with the project so its tests need nothing beside it."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
