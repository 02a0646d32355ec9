# AgileML — `make run` starts everything, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench install install-dev lock chromium migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when a requirements file changed. requirements.lock pins every package the
# requirements pull in (kombu, amqp, ...), so an install next month is the same install.
$(VENV)/.installed: requirements.txt requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -c requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt -c requirements.lock
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# After changing requirements*.txt: pin the new set, transitive packages included (needs PyPI).
lock: | $(BIN)/python
	$(BIN)/pip install --quiet pip-tools==7.6.2
	$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
	    --output-file requirements.lock requirements-dev.txt

var/secret_key:
	@mkdir -p var
	@$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# The app as a user runs it: embedded SQLite and broker under var/, demo data, web + worker + scheduler
# under supervisord (supervisord.conf), which restarts whichever dies. One foreground command.
run: install var/secret_key
	@export SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}" PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) PORT=$(PORT) \
	  AGILEML_VAR_DIR="$${AGILEML_VAR_DIR:-$(CURDIR)/var}" WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} \
	  WORKER_CONCURRENCY=$${WORKER_CONCURRENCY:-2}; \
	python manage.py migrate --noinput && \
	python manage.py collectstatic --noinput --verbosity 0 && \
	python manage.py clear_upload_tmp && \
	python manage.py seed_demo && \
	echo "" && \
	echo "  AgileML is starting at http://$(HOST):$(PORT)/" && \
	echo "  Demo logins (password 'demo'): lead, engineer, stakeholder" && \
	echo "  Health: http://$(HOST):$(PORT)/healthz   API docs: http://$(HOST):$(PORT)/api/docs/" && \
	echo "  Ctrl-C stops the web server, the worker and the scheduler." && \
	echo "" && \
	exec supervisord -n -c supervisord.conf

# Browser tests drive Debian's chromium; install it when missing (needs root, as in CI).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install-dev
	$(BIN)/ruff check .

test: install-dev chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
