# The two set-up commands of the README: `make run` and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTEST_ARGS ?=

.PHONY: run test lint uv mutation

uv:
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || \
		python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages --user uv

# Embedded default: SQLite, Celery tasks in-process, demo data, http://127.0.0.1:8000
run: uv
	$(UV) sync --frozen
	$(UV) run python manage.py migrate --noinput
	$(UV) run python manage.py seed --size demo
	$(UV) run python manage.py beat_once
	@echo ""
	@echo "  SEM Flow runs on http://127.0.0.1:8000 (every password: demo)"
	@echo "    CPO          cpo@example.com"
	@echo "    CSM          csm@example.com"
	@echo "    Architect    architect@example.com"
	@echo "    Stakeholder  stakeholder@example.com"
	@echo "    Team 1       po1@example.com  sm1@example.com  dev1@example.com"
	@echo "    Teams 2-5    po2@ … po5@, sm2@ … sm5@, dev2@ … dev5@example.com"
	@echo ""
	$(UV) run python manage.py runserver 127.0.0.1:8000

test: uv
	$(UV) sync --frozen
	$(UV) run pytest $(PYTEST_ARGS)

lint: uv
	$(UV) run ruff check .
	$(UV) run ruff format --check .

# Mutation report over the rule modules ([tool.mutmut] in pyproject.toml); hours, not CI.
# tests/mutation_run.py is mutmut, also mutating the @transaction.atomic services.
mutation: uv
	$(UV) sync --frozen
	$(UV) run python -m tests.mutation_run run $(MUTANTS)
	$(UV) run python -m tests.mutation_results
	$(UV) run python -m tests.mutation_report
