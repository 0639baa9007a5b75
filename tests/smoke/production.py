"""Production smoke (not collected by pytest): the production shape, started as
docker-compose.yml starts it, used through a real browser.

    uv run python -m tests.smoke.production [--database semflow_smoke]
        [--redis-url redis://127.0.0.1:6379/14] [--screenshots DIR]

1. A fresh PostgreSQL database, the Redis database flushed, the production environment
   (DEBUG=false, a random SECRET_KEY, SECURE_SSL_REDIRECT=false, loopback hosts).
2. The commands of the Dockerfile and docker-compose.yml, read from those files: the
   image's ``collectstatic``, the web service (``migrate`` then gunicorn, bound to a free
   loopback port instead of 0.0.0.0:8000), the Celery worker and Celery beat. The demo
   data set and the ``max`` one (a second Flow Team) are loaded as the README does.
3. ``/healthz`` answers 200 with the broker "ok"; the worker answers ``inspect ping`` and
   computes the metrics the seeds and the metrics page's button enqueue; beat starts.
4. Chromium (Playwright, Debian's binary) signs in through the login form as every demo
   role and one person of the second Flow Team, then visits every page of the navigation,
   the links on those pages (CSV and iCalendar downloads fetched), the admin's lists for
   staff, the API docs. Any 5xx, any failed resource, any console error (a
   Content-Security-Policy violation among them), any uncaught script error, a page
   without its stylesheets or showing another Flow Team fails the run.

Prints one row per page (role, page, status, ms, problems) and exits 1 on any failure.
Every process it starts is stopped at the end, also on failure; each wait is bounded and
the whole run is cut after --timeout seconds. Talks to 127.0.0.1 only.
"""

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [  # as tests/e2e/conftest.py
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Who signs in, and the Flow Team each must see (the topbar names it on every page).
PEOPLE = [
    ("cpo@example.com", "Atlas"),
    ("csm@example.com", "Atlas"),
    ("architect@example.com", "Atlas"),
    ("stakeholder@example.com", "Atlas"),
    ("po1@example.com", "Atlas"),
    ("sm1@example.com", "Atlas"),
    ("dev1@example.com", "Atlas"),
    ("max-po2@example.com", "Atlas Max"),
]
SEEDS = [
    ["python", "manage.py", "seed", "--size", "demo"],
    ["python", "manage.py", "seed", "--size", "max"],
]
# Pages not (or not always) linked from the navigation that a person reaches all the same.
EXTRA_PAGES = ["/calendar/?scope=flow", "/api/docs/", "/account/tokens/"]
# The calendar links every event to its screen, the roadmap every epic and milestone, the
# backlog its pages (hundreds for a Flow Team): links that differ only in their numbers are
# one view, so a few of each per person show it works without multiplying the run.
SAME_VIEW_PER_PERSON = 3
COMPOSE_BIND = "0.0.0.0:8000"
# What a server writes when something broke (a 500 is logged by django.request as ERROR).
LOG_ERROR = re.compile(r"Traceback|Internal Server Error|\bERROR\b|\bCRITICAL\b")
CSP = re.compile(r"Content.Security.Policy|Refused to", re.I)


class Failed(Exception):
    pass


class TimedOut(BaseException):  # not an Exception: no step's own handler swallows it
    pass


# -- the commands, from the files that define the production shape --------------------------


def compose_commands(compose: Path) -> dict[str, list[str]]:
    services = yaml.safe_load(compose.read_text())["services"]
    commands = {}
    for name in ("web", "worker", "beat"):
        command = services[name]["command"]
        commands[name] = shlex.split(command) if isinstance(command, str) else list(command)
    return commands


def dockerfile_build_commands(dockerfile: Path) -> list[list[str]]:
    """The image's ``RUN`` steps that call manage.py, without their leading VAR=value words
    (the smoke sets the production environment itself)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        if not line.startswith("RUN ") or "manage.py" not in line:
            continue
        words = shlex.split(line[4:])
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            words.pop(0)
        found.append(words)
    return found


# -- processes ----------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(f"    {line}" for line in text[-lines:])


@dataclass
class Services:
    env: dict
    workdir: Path
    processes: list[Process] = field(default_factory=list)

    def run(self, command: list[str], timeout: float) -> str:
        shown = " ".join(command)
        print(f"$ {shown}", flush=True)
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise Failed(f"`{shown}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done.stdout + done.stderr

    def start(self, name: str, command: list[str]) -> Process:
        print(f"$ {' '.join(command)} &", flush=True)
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped with its children
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def alive(self, process: Process) -> None:
        if process.popen.poll() is not None:
            raise Failed(f"{process.name} exited {process.popen.returncode}:\n{process.tail()}")

    def stop_all(self) -> None:
        for process in self.processes:
            with suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            with suppress(subprocess.TimeoutExpired):
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            with suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)  # the group, children included
            process.popen.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def fresh_database(admin_url: str, name: str) -> None:
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise Failed(f"database name {name!r}: lower-case letters, digits and _ only")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    client.flushdb()
    client.close()


# -- the browser --------------------------------------------------------------------------


@dataclass
class Row:
    who: str
    page: str
    status: int | str
    ms: int
    problems: list[str]


class Browse:
    """One person's visit: every response, console message and script error is charged to
    the page being visited when it happens."""

    def __init__(self, browser, base: str, who: str, team: str, rows: list[Row], shots):
        self.base, self.who, self.team, self.rows, self.shots = base, who, team, rows, shots
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.in_flight: set = set()
        self.page.on("request", lambda request: self.in_flight.add(request))
        self.page.on("requestfinished", lambda request: self.in_flight.discard(request))
        self.page.on("requestfailed", lambda request: self.in_flight.discard(request))
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._request_failed)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _response(self, response):
        if response.status >= 500:
            self.problems.append(f"{response.status} from {self._path(response.url)}")
        elif response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {self._path(response.url)}")

    def _request_failed(self, request):
        self.problems.append(f"request failed: {self._path(request.url)} ({request.failure})")

    def _console(self, message):
        if message.type != "error":
            return
        kind = "CSP violation" if CSP.search(message.text) else "console error"
        self.problems.append(f"{kind}: {message.text[:200]}")

    def _path(self, url: str) -> str:
        return url.removeprefix(self.base)

    def record(self, page: str, status, started: float):
        problems, self.problems = self.problems, []
        if status == 200:
            problems += self._page_checks()
        self.add(page, status, started, problems)
        if self.shots is not None:
            name = re.sub(r"[^a-z0-9]+", "-", f"{self.who.split('@')[0]} {page}".lower()).strip("-")
            self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=False)

    def _page_checks(self) -> list[str]:
        found = []
        unstyled = self.page.evaluate(
            """() => [...document.querySelectorAll('link[rel=stylesheet]')]
                 .filter(l => !l.sheet || l.sheet.cssRules.length === 0).map(l => l.href)"""
        )
        if unstyled or not self.page.locator("link[rel=stylesheet]").count():
            found.append(f"stylesheets not applied: {unstyled or 'none linked'}")
        shown = self.page.locator(".flow-team-name")
        if shown.count() and shown.first.inner_text().strip() != self.team:
            found.append(f"shows Flow Team {shown.first.inner_text()!r}, expected {self.team!r}")
        return found

    def settle(self):
        """Wait until the page's own requests are done (scripts that fetch after load: Swagger
        UI, htmx) and quiet for a moment, so their answers and errors are charged to it.
        Bounded: a page that streams never goes quiet."""
        deadline = time.monotonic() + 2
        quiet_since = None
        while time.monotonic() < deadline:
            if self.in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 0.15:
                return
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events

    def visit(self, path: str) -> list[str]:
        """Open a page; returns the links on it worth following."""
        started = time.monotonic()
        response = self.page.goto(urljoin(self.base, path), wait_until="load")
        self.settle()
        status = response.status if response else "no response"
        if path.startswith("/api/docs/"):
            try:
                self.page.locator(".swagger-ui .opblock").first.wait_for(timeout=15_000)
            except Exception:
                self.problems.append("Swagger UI showed no operation")
        if status == 200 and urlsplit(self.page.url).path != urlsplit(path).path:
            status = f"200 at {self._path(self.page.url)}"
            self.problems.append("redirected away")
        self.record(path, status, started)
        return self.page.eval_on_selector_all(
            "main a[href], #content-main a[href]", "els => els.map(a => a.href)"
        )

    def guarded(self, page: str, action, *args):
        """Run one browser step; a step that breaks (a timeout, a missing button) is a failed
        row, and the visit goes on. Returns the step's result, or None when it broke."""
        try:
            return action(*args)
        except Exception as error:
            problems, self.problems = self.problems, []
            self.add(page, "-", None, [*problems, f"{type(error).__name__}: {error}"])
            return None

    def add(self, page: str, status, started: float | None, problems: list[str]):
        ms = int((time.monotonic() - started) * 1000) if started else 0
        self.rows.append(Row(self.who, page, status, ms, problems))

    def login(self, email: str):
        started = time.monotonic()
        self.page.goto(urljoin(self.base, "/login/"), wait_until="load")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill("demo")
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.page.get_by_role("button", name="Sign in").click()
        response = navigation.value
        status = response.status if response else "no response"
        if urlsplit(self.page.url).path != "/":
            self.problems.append(f"sign-in did not reach home: at {self._path(self.page.url)}")
        elif not self.page.get_by_role("button", name="Sign out").count():
            self.problems.append("signed in, but the page offers no sign-out")
        self.record("login form -> /", status, started)
        return True

    def nav_links(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "nav[aria-label=Main] a[href]", "els => els.map(a => a.getAttribute('href'))"
        )

    def download(self, url: str, content_type: str, expect: str | None = None):
        """A CSV or iCalendar file: fetched with the person's session, checked, not rendered."""
        started = time.monotonic()
        response = self.context.request.get(url)
        problems = []
        if response.status >= 500 or response.status != 200:
            problems.append(f"{response.status} for {self._path(url)}")
        elif not response.headers.get("content-type", "").startswith(content_type):
            problems.append(f"content type {response.headers.get('content-type')}")
        elif expect and expect not in response.text():
            problems.append(f"no {expect!r} in the file")
        self.add(self._path(url), response.status, started, problems)

    def calendar_feed(self):
        """Ask for a personal iCalendar URL with the calendar page's button, then fetch it as
        a calendar program would: without the session."""
        started = time.monotonic()
        self.page.goto(urljoin(self.base, "/calendar/"), wait_until="load")
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.page.get_by_role("button", name=re.compile("^iCalendar URL")).first.click()
        status = navigation.value.status if navigation.value else "no response"
        self.record("calendar: new iCalendar URL", status, started)
        feed = self.page.locator("#feed-url")
        if not feed.count():
            self.add("iCalendar feed", "-", None, ["the page showed no feed URL"])
            return
        url = feed.inner_text().strip()
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=20) as answer:
                status, body = answer.status, answer.read().decode()
                kind = answer.headers.get("content-type", "")
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, "", ""
        problems = []
        if status != 200:
            problems.append(f"{status} for the feed")
        elif not kind.startswith("text/calendar") or "BEGIN:VCALENDAR" not in body:
            problems.append(f"not a calendar: {kind}")
        self.add("iCalendar feed (no session)", status, started, problems)

    def metrics_refresh(self):
        """The metrics page's button: the job is enqueued for the worker."""
        started = time.monotonic()
        self.page.goto(urljoin(self.base, "/metrics/"), wait_until="load")
        with self.page.expect_navigation(wait_until="load") as navigation:
            self.page.get_by_role("button", name="Compute today's figures now").click()
        status = navigation.value.status if navigation.value else "no response"
        if not self.page.get_by_text("The metrics job is computing").count():
            self.problems.append("no confirmation after the metrics button")
        self.record("metrics: compute now (POST)", status, started)
        return True

    def close(self):
        self.context.close()


def browse(base: str, rows: list[Row], shots: Path | None, on_refresh) -> None:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise Failed(f"{CHROMIUM} missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for index, (email, team) in enumerate(PEOPLE):
                person = Browse(browser, base, email, team, rows, shots if index == 0 else None)
                try:
                    visit_everything(person, email, on_refresh if index == 0 else None)
                finally:
                    person.close()
        finally:
            browser.close()


def visit_everything(person: Browse, email: str, on_refresh) -> None:
    if not person.guarded("login form -> /", person.login, email):
        return
    nav = person.nav_links()
    if not nav:
        person.rows.append(Row(email, "navigation", "-", 0, ["no navigation links after sign-in"]))
    seen: set[str] = set()
    downloads: dict[str, str] = {}
    following: list[str] = []
    for path in [*nav, *EXTRA_PAGES]:
        if path in seen:
            continue
        seen.add(path)
        for href in person.guarded(path, person.visit, path) or []:
            if not href.startswith(person.base) or "#" in href:
                continue
            link = href.removeprefix(person.base)
            if link.split("?")[0].endswith(".csv"):
                downloads.setdefault(link.split("?")[0], link)
            elif path == "/admin/" and not link.endswith("/add/"):
                following.append(link)  # the admin's lists for this person
            elif not link.startswith("/admin/") and "logout" not in link:
                following.append(link)
    views: dict[str, int] = {}
    for link in following:
        if link not in seen:
            view = re.sub(r"\d+", "N", link)
            if views.get(view, 0) == SAME_VIEW_PER_PERSON:
                continue
            views[view] = views.get(view, 0) + 1
            seen.add(link)
            person.guarded(link, person.visit, link)
    for link in downloads.values():
        person.guarded(link, person.download, urljoin(person.base, link), "text/csv")
    person.guarded("iCalendar feed", person.calendar_feed)
    if on_refresh is not None and person.guarded("metrics: compute now", person.metrics_refresh):
        on_refresh()


# -- the run ------------------------------------------------------------------------------


def production_env(args, port: int, static_root: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DJANGO_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    origins = f"http://127.0.0.1:{port},http://localhost:{port}"
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CSRF_TRUSTED_ORIGINS=origins,
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"{args.postgres.rstrip('/')}/{args.database}",
        REDIS_URL=args.redis_url,
        STATIC_ROOT=str(static_root),
    )
    return env


def healthz(base: str):
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=3) as answer:
            body = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return body if body.get("broker") == "ok" and body.get("database") is True else None


def succeeded(process: Process, task: str) -> int:
    done = rf"Task {re.escape(task)}\[[^\]]+\] succeeded"
    return len(re.findall(done, process.log.read_text(errors="replace")))


def smoke(args, services: Services, workdir: Path, port: int, rows: list[Row]) -> None:
    commands = compose_commands(ROOT / "docker-compose.yml")
    base = f"http://127.0.0.1:{port}"

    step("fresh database and broker")
    fresh_database(f"{args.postgres.rstrip('/')}/postgres", args.database)
    flush_redis(args.redis_url)

    step("the image's build steps (Dockerfile)")
    builds = dockerfile_build_commands(ROOT / "Dockerfile")
    if not any("collectstatic" in c for c in builds):
        raise Failed("the Dockerfile no longer runs collectstatic")
    for command in builds:
        services.run(command, timeout=180)

    step("web, worker and beat (docker-compose.yml)")
    web = commands["web"]
    if not any(COMPOSE_BIND in word for word in web):
        raise Failed(f"the web command no longer binds {COMPOSE_BIND}: {web}")
    web = [word.replace(COMPOSE_BIND, f"127.0.0.1:{port}") for word in web]
    beat = [word.replace("/tmp/", f"{workdir}/") for word in commands["beat"]]
    web_process = services.start("web", web)
    worker = services.start("worker", commands["worker"])
    beat_process = services.start("beat", beat)

    def healthy():
        for process in (web_process, worker, beat_process):
            services.alive(process)
        return healthz(base)

    health = wait_for("/healthz to answer 200 with the broker ok", healthy, timeout=120)
    print(f"  /healthz: {json.dumps(health)}")

    step("data: the demo Flow Team and a second one (max)")
    for command in SEEDS:
        print("  " + services.run(command, timeout=180).strip().splitlines()[-1])

    step("worker and beat")
    pong = services.run(["celery", "-A", "sem", "inspect", "ping", "--timeout", "10"], timeout=60)
    if "pong" not in pong:
        raise Failed(f"the worker did not answer inspect ping:\n{pong}")
    print("  worker answers inspect ping")
    wait_for(
        "the worker to compute the metrics both seeds enqueued",
        lambda: services.alive(worker) or succeeded(worker, "flow.tasks.metrics_compute") >= 2,
        timeout=120,
    )
    print("  worker computed the metrics of both Flow Teams")
    schedule = Path(next(w for w in beat if w.startswith(str(workdir))))

    def schedule_written():  # the shelve module may add a suffix
        return any(workdir.glob(schedule.name + "*"))

    wait_for(
        "beat to start and write its schedule",
        lambda: (
            services.alive(beat_process)
            or ("beat: Starting" in beat_process.log.read_text() and schedule_written())
        ),
        timeout=60,
    )
    print("  beat started (schedule file written)")

    step("Chromium: every page as every role")
    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    def refreshed():
        wait_for(
            "the worker to run the job the metrics button enqueued",
            lambda: services.alive(worker) or succeeded(worker, "flow.tasks.metrics_compute") >= 3,
            timeout=60,
        )
        print("  the worker ran the job the metrics button enqueued")

    browse(base, rows, shots, refreshed)

    step("server logs")
    for process in (web_process, worker, beat_process):
        services.alive(process)
        lines = process.log.read_text(errors="replace").splitlines()
        errors = [i for i, line in enumerate(lines) if LOG_ERROR.search(line)]
        if errors:
            shown = "\n".join(lines[errors[0] : errors[0] + 30])
            rows.append(Row(process.name, "log", "-", 0, [f"{len(errors)} error lines:\n{shown}"]))


STARTED = time.monotonic()


def step(title: str) -> None:
    print(f"\n-- {title} (at {time.monotonic() - STARTED:.0f} s)", flush=True)


def report(rows: list[Row]) -> int:
    width = max(len(r.page) for r in rows)
    who_width = max(len(r.who) for r in rows)
    print(f"\n{'who':<{who_width}}  {'page':<{width}}  status     ms  problems")
    for r in rows:
        first, *rest = r.problems or ["ok"]
        print(f"{r.who:<{who_width}}  {r.page:<{width}}  {str(r.status):<6} {r.ms:>6}  {first}")
        for more in rest:
            print(f"{'':<{who_width + width + 18}}{more}")
    failures = [r for r in rows if r.problems]
    people = len({r.who for r in rows if "@" in r.who})
    ok = len(rows) - len(failures)
    print(f"\n{len(rows)} checks as {people} people: {ok} ok, {len(failures)} failed")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SMOKE_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="the PostgreSQL server, without a database name",
    )
    parser.add_argument("--database", default="semflow_smoke", help="dropped and created anew")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="flushed first")
    parser.add_argument("--screenshots", help="save a PNG of each page the first person sees")
    parser.add_argument("--timeout", type=int, default=420, help="seconds for the whole run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="semflow-smoke-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        services = Services(production_env(args, port, workdir / "staticfiles"), workdir)

        def out_of_time(*_):
            # A minute to wind down; should that hang too, stop the servers and leave.
            signal.signal(signal.SIGALRM, lambda *_: (services.stop_all(), os._exit(2)))
            signal.alarm(60)
            raise TimedOut(f"the smoke ran over {args.timeout} s")

        signal.signal(signal.SIGALRM, out_of_time)
        signal.alarm(args.timeout)
        rows: list[Row] = []
        try:
            smoke(args, services, workdir, port, rows)
            code = report(rows)
        except (Exception, TimedOut) as failure:
            if rows:
                report(rows)
            if not isinstance(failure, Failed | TimedOut):
                traceback.print_exc()
            print(f"\nPRODUCTION SMOKE FAILED: {failure}", file=sys.stderr)
            for process in services.processes:
                print(f"\n  last lines of {process.name}:\n{process.tail(25)}", file=sys.stderr)
            code = 1
        finally:
            signal.alarm(0)
            services.stop_all()
        if code:
            kept = ROOT / "test-results" / "production-smoke"
            kept.mkdir(parents=True, exist_ok=True)
            for process in services.processes:
                shutil.copy(process.log, kept / process.log.name)
            print(f"logs of web, worker and beat kept in {kept.relative_to(ROOT)}/")
    outcome = "passed" if code == 0 else "FAILED"
    print(f"production smoke {outcome} in {time.monotonic() - STARTED:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
