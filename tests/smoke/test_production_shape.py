"""The production smoke reads its commands from the Dockerfile and docker-compose.yml; these
check, in the normal suite, that it still finds them there (the smoke itself runs in CI)."""

from tests.smoke.production import (
    COMPOSE_BIND,
    ROOT,
    compose_commands,
    dockerfile_build_commands,
)


def test_the_smoke_finds_the_images_collectstatic():
    assert ["python", "manage.py", "collectstatic", "--noinput"] in dockerfile_build_commands(
        ROOT / "Dockerfile"
    )


def test_the_smoke_finds_web_worker_and_beat_in_docker_compose():
    commands = compose_commands(ROOT / "docker-compose.yml")
    web = " ".join(commands["web"])
    assert "manage.py migrate --noinput" in web and "gunicorn sem.wsgi" in web
    assert COMPOSE_BIND in web  # the smoke binds loopback in its place
    assert commands["worker"][:4] == ["celery", "-A", "sem", "worker"]
    assert commands["beat"][:4] == ["celery", "-A", "sem", "beat"]
    assert any(word.startswith("/tmp/") for word in commands["beat"])  # the schedule file


def test_the_dockerfile_parser_drops_the_build_environment(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python\nRUN pip install uv\nRUN DEBUG=false SECRET_KEY=x \\\n"
        "    python manage.py collectstatic --noinput\n"
    )
    assert dockerfile_build_commands(dockerfile) == [
        ["python", "manage.py", "collectstatic", "--noinput"]
    ]
