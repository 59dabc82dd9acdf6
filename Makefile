# QRGate: `make run` serves the app on a fresh machine, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
WORKERS ?= 3
PG_URL ?= postgres://postgres@127.0.0.1:5432/qrgate
TEST_ENV := STATICFILES_BACKEND=django.contrib.staticfiles.storage.StaticFilesStorage DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: run setup install test test-sqlite test-postgres demo bench messages clean

$(VENV)/.installed: requirements.lock requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

setup: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin

# The server the unit runs (deploy/gunicorn.conf.py: threaded workers, QRGATE_THREADS per
# worker), on PORT with WORKERS processes.
run: setup
	@echo "QRGate on http://0.0.0.0:$(PORT)/  (Ctrl+C stops it)"
	PY=$(PY) deploy/with-workers.sh $(VENV)/bin/gunicorn --config deploy/gunicorn.conf.py \
		--bind 0.0.0.0:$(PORT) --workers $(WORKERS) --no-control-socket --forwarded-allow-ips 127.0.0.1 \
		qrgate.wsgi:application

demo: setup
	$(PY) manage.py seed_demo --drivers 200 --movements 20000 --days 30

# The whole suite on SQLite (DATABASE_URL from the environment when set: see test-postgres).
test: install
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: install
	env -u DATABASE_URL $(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$(PG_URL) $(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

messages: install
	$(PY) manage.py makemessages -l es --no-obsolete --ignore=.venv --ignore=var --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var/static
