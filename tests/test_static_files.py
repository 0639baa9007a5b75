"""Vendored and own front-end files are complete: every source map a file points at is there,
every ``{% static %}`` path a template uses exists, and ``collectstatic`` with the production
storage (which rewrites those references to hashed names and fails on a missing one) succeeds.
The Docker image runs that same ``collectstatic``; a missing file means no image."""

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings

STATIC = Path(settings.BASE_DIR) / "static"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
SOURCE_MAP = re.compile(r"sourceMappingURL=([^\s'\"*]+)")
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")
PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def source_map_references(root: Path) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".js", ".css", ".mjs"}:
            continue
        for target in SOURCE_MAP.findall(path.read_text(encoding="utf-8", errors="replace")):
            if not target.startswith("data:"):
                found.append((path, target))
    return found


def test_every_source_map_a_static_file_points_at_exists():
    references = source_map_references(STATIC)
    # Chart.js and Swagger UI ship with one each; an empty list would mean the scan is broken.
    assert {p.name for p, _ in references} >= {"chart.umd.min.js", "swagger-ui.css"}
    missing = [
        f"{p.relative_to(STATIC)} -> {t}" for p, t in references if not (p.parent / t).is_file()
    ]
    assert not missing, f"source maps referenced but not vendored: {missing}"


def test_the_scan_finds_a_missing_source_map(tmp_path):
    (tmp_path / "lib.min.js").write_text("x();\n//# sourceMappingURL=lib.min.js.map\n")
    [(path, target)] = source_map_references(tmp_path)
    assert not (path.parent / target).is_file()


def test_every_static_path_a_template_uses_exists():
    used = {
        (template.relative_to(TEMPLATES), name)
        for template in TEMPLATES.rglob("*.html")
        for name in STATIC_TAG.findall(template.read_text(encoding="utf-8"))
    }
    assert {name for _, name in used} >= {"css/sem.css", "vendor/htmx/htmx.min.js"}
    missing = [f"{t}: {name}" for t, name in sorted(used) if finders.find(name) is None]
    assert not missing, f"templates use static files that do not exist: {missing}"


def test_the_api_docs_find_their_vendored_swagger_ui():
    spectacular = settings.SPECTACULAR_SETTINGS
    dist = spectacular["SWAGGER_UI_DIST"].removeprefix(settings.STATIC_URL)
    favicon = spectacular["SWAGGER_UI_FAVICON_HREF"].removeprefix(settings.STATIC_URL)
    for name in ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"]:
        assert finders.find(f"{dist}/{name}"), f"{dist}/{name}"
    assert finders.find(favicon), favicon


def collectstatic_production(static_root: Path, dirs: list[Path] | None = None):
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    with override_settings(
        STATIC_ROOT=static_root,
        STATICFILES_DIRS=dirs or settings.STATICFILES_DIRS,
        STORAGES=storages,
    ):
        call_command("collectstatic", "--noinput", verbosity=0)


def test_collectstatic_with_the_production_storage_succeeds(tmp_path):
    collectstatic_production(tmp_path)
    manifest = (tmp_path / "staticfiles.json").read_text()
    for name in ["css/sem.css", "vendor/chartjs/chart.umd.min.js", "vendor/htmx/htmx.min.js"]:
        assert f'"{name}"' in manifest
    assert (tmp_path / "vendor/chartjs/chart.umd.min.js.gz").is_file()  # compressed as served


def test_collectstatic_with_the_production_storage_fails_on_a_missing_source_map(tmp_path):
    static = tmp_path / "static"
    shutil.copytree(STATIC, static)
    (static / "vendor/chartjs/chart.umd.min.js.map").unlink()
    with pytest.raises(ValueError, match="chart.umd.min.js.map"):
        collectstatic_production(tmp_path / "root", dirs=[static])


def test_favicon_ico_leads_to_the_apps_icon(client):
    # The admin's pages name no icon, so browsers ask for /favicon.ico.
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.svg"
