"""deploy/: the systemd units, the installer run into a throwaway root, the installed tree
served the way the unit serves it, the HTTPS front, and /healthz."""

import contextlib
import ctypes
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ["qrgate.service", "qrgate-backup.service", "qrgate-backup.timer", "qrgate-worker.service",
         "qrgate-imports.service",
         "qrgate-reports.service", "qrgate-reports.timer", "qrgate-daily.service", "qrgate-daily.timer"]
needs_systemd_analyze = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze missing")


# --- helpers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unit_service_section(path: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit file (continuation lines joined), each with all its values."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    section, keys = None, {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value
    return values


def exposure(unit: Path) -> float:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True, text=True
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    assert match, done.stdout + done.stderr
    return float(match.group(1))


def units_with_real_paths(tmp_path: Path) -> Path:
    """Copies of deploy/'s units whose ExecStart binaries exist here (verify insists on it)."""
    folder = tmp_path / "units"
    folder.mkdir()
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        text = text.replace("/opt/qrgate/venv/bin/gunicorn", sys.executable)
        text = text.replace("/opt/qrgate/venv/bin/python", sys.executable)
        (folder / name).write_text(text)
    return folder


def mdwe_supported() -> bool:
    """Whether this kernel can forbid writable+executable memory (PR_SET_MDWE), as the unit does."""
    probe = (
        "import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
        "sys.exit(0 if libc.prctl(65, 1, 0, 0, 0) == 0 else 1)"
    )
    return subprocess.run([sys.executable, "-c", probe]).returncode == 0


# The unit's MemoryDenyWriteExecute=yes, reproduced with the kernel's PR_SET_MDWE (inherited by
# the exec'd program and its children) so that the tests catch a library that needs W+X memory.
MDWE_EXEC = (
    "import ctypes, os, sys; libc = ctypes.CDLL(None, use_errno=True); "
    "assert libc.prctl(65, 1, 0, 0, 0) == 0; os.execv(sys.argv[1], sys.argv[1:])"
)


def get(port, path, headers=None, source="127.0.0.1", host="localhost"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        conn.close()


# --- the unit files -----------------------------------------------------------------------------


@needs_systemd_analyze
def test_the_unit_files_pass_systemd_analyze_verify(tmp_path):
    folder = units_with_real_paths(tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(folder / name) for name in UNITS)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "qrgate" not in done.stderr, done.stderr


@needs_systemd_analyze
@pytest.mark.parametrize("unit", ["qrgate.service", "qrgate-backup.service", "qrgate-worker.service",
                                  "qrgate-imports.service",
                                  "qrgate-reports.service", "qrgate-daily.service"])
def test_the_services_are_hardened_to_an_exposure_of_at_most_2_5(tmp_path, unit):
    folder = units_with_real_paths(tmp_path)
    assert exposure(folder / unit) <= 2.5


def test_the_import_worker_runs_run_imports_and_restarts():
    service = unit_service_section(DEPLOY / "qrgate-imports.service")
    assert shlex.split(service["ExecStart"][0])[-1] == "run_imports"
    assert service["Restart"] == ["always"] and service["ReadWritePaths"] == ["/var/lib/qrgate"]
    assert service["User"] == ["qrgate"] and service["NoNewPrivileges"] == ["yes"]


def test_the_service_runs_gunicorn_as_required():
    service = unit_service_section(DEPLOY / "qrgate.service")
    command = shlex.split(service["ExecStart"][0])
    assert "--no-control-socket" in command
    assert command[command.index("--forwarded-allow-ips") + 1] == "127.0.0.1,::1"
    assert service["Restart"] == ["always"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["ReadWritePaths"] == ["/var/lib/qrgate"]
    assert service["EnvironmentFile"] == ["/etc/qrgate/qrgate.env"]
    unit_text = (DEPLOY / "qrgate.service").read_text()
    assert re.search(r"^After=network-online\.target postgresql\.service$", unit_text, re.M)
    timer = (DEPLOY / "qrgate-backup.timer").read_text()
    assert "OnCalendar=" in timer and "Persistent=true" in timer


# --- the installer ------------------------------------------------------------------------------


class Installed:
    def __init__(self, root: Path):
        self.root = root
        self.prefix = root / "opt/qrgate"
        self.etc = root / "etc/qrgate"
        self.data = root / "var/lib/qrgate"
        self.unit_dir = root / "etc/systemd/system"
        self.caddy_dir = root / "etc/caddy"
        self.pki = root / "caddy-pki"
        self.systemctl_log = root / "systemctl.log"
        self.app = self.prefix / "app"
        self.python = self.prefix / "venv/bin/python"
        self.env_file = self.etc / "qrgate.env"

    def run_installer(self) -> str:
        stand_in = self.root / "bin/systemctl"
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text(f'#!/bin/sh\necho "$*" >> "{self.systemctl_log}"\n')
        stand_in.chmod(0o755)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "QRGATE_PREFIX": str(self.prefix),
            "QRGATE_ETC": str(self.etc),
            "QRGATE_DATA": str(self.data),
            "QRGATE_UNIT_DIR": str(self.unit_dir),
            "QRGATE_CADDY_DIR": str(self.caddy_dir),
            "QRGATE_CADDY_PKI": str(self.pki),
            "QRGATE_USER": subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip(),
            "QRGATE_HOSTS": "192.0.2.10 qrgate",
            "SYSTEMCTL": str(stand_in),
            "PYTHON": getattr(sys, "_base_executable", sys.executable),
            "QRGATE_SKIP_SYSTEM": "1",
        }
        for key in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
            if key in os.environ:
                env[key] = os.environ[key]
        done = subprocess.run(["bash", str(DEPLOY / "install.sh")], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    def manage(self, *args) -> str:
        env = {"PATH": "/usr/bin:/bin", "QRGATE_ENV_FILE": str(self.env_file), "HOME": str(self.data)}
        done = subprocess.run(
            [str(self.python), "manage.py", *args], cwd=self.app, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    @contextlib.contextmanager
    def serving(self, port: int):
        """gunicorn started as qrgate.service starts it (its ExecStart, Environment and
        EnvironmentFile, its WorkingDirectory), listening on 127.0.0.1:port."""
        service = unit_service_section(self.unit_dir / "qrgate.service")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        for assignment in service.get("Environment", []):
            key, value = assignment.split("=", 1)
            env[key] = value
        env.update(env_file(Path(service["EnvironmentFile"][0])))
        env.update(QRGATE_BIND=f"127.0.0.1:{port}", QRGATE_WORKERS="2")
        command = shlex.split(service["ExecStart"][0])
        if mdwe_supported():
            command = [sys.executable, "-c", MDWE_EXEC, *command]
        process = subprocess.Popen(
            command, cwd=service["WorkingDirectory"][0], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if get(port, "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "gunicorn did not answer /healthz"
                time.sleep(0.2)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not shutil.which("bash"):
        pytest.skip("bash missing")
    inst = Installed(tmp_path_factory.mktemp("root"))
    inst.first_output = inst.run_installer()
    return inst


def test_the_installer_writes_private_settings_and_tells_where_the_admin_password_is(installed):
    assert oct(installed.env_file.stat().st_mode & 0o777) == "0o640"
    settings = env_file(installed.env_file)
    assert len(settings["SECRET_KEY"]) >= 50
    assert settings["ALLOWED_HOSTS"] == "192.0.2.10,qrgate,localhost,127.0.0.1,[::1]"
    assert settings["SECURE_HTTPS"] == "true" and settings["SECURE_SSL_HOST"] == "192.0.2.10"
    assert settings["QRGATE_DATA_DIR"] == str(installed.data)

    password_file = installed.data / "first-admin-password.txt"
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
    assert password_file.read_text().splitlines()[0] == "admin"
    out = installed.first_output
    assert "http://192.0.2.10:5000/" in out and "https://192.0.2.10/" in out
    assert str(password_file) in out

    calls = installed.systemctl_log.read_text().splitlines()
    assert calls[:2] == ["daemon-reload", "enable qrgate.service qrgate-backup.timer qrgate-reports.timer"]
    assert "restart qrgate.service" in calls and "reload-or-restart caddy.service" in calls
    assert "enable qrgate-worker.service qrgate-daily.timer" in calls
    assert "restart qrgate-worker.service" in calls and "start qrgate-daily.timer" in calls
    assert "enable qrgate-imports.service" in calls and "restart qrgate-imports.service" in calls


@needs_systemd_analyze
def test_the_installed_units_point_at_the_installed_tree_and_pass_verify(installed):
    units = [installed.unit_dir / name for name in UNITS]
    service = unit_service_section(units[0])
    assert shlex.split(service["ExecStart"][0])[0] == str(installed.prefix / "venv/bin/gunicorn")
    assert service["ReadWritePaths"] == [str(installed.data)]
    done = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert exposure(units[0]) <= 2.5


def test_the_installed_settings_pass_check_deploy(installed):
    out = installed.manage("check", "--deploy", "--fail-level", "WARNING")
    assert "no issues" in out


def test_the_installed_tree_serves_healthz_and_the_login_page_as_the_unit_starts_it(installed):
    port = free_port()
    with installed.serving(port):
        assert get(port, "/healthz")[:1] == (200,)
        assert get(port, "/healthz")[2] == "ok\n"
        # Through the HTTPS proxy (127.0.0.1, X-Forwarded-Proto: https): the login page, with
        # secure cookies and HSTS.
        status, headers, body = get(port, "/login/", {"X-Forwarded-Proto": "https"})
        assert status == 200 and 'name="password"' in body
        assert "Secure" in headers.get("Set-Cookie", "")
        assert "max-age=" in headers.get("Strict-Transport-Security", "")
        # Plain HTTP on the LAN port: browsers are sent to the HTTPS front.
        status, headers, _ = get(port, "/login/")
        assert status == 301 and headers["Location"] == "https://192.0.2.10/login/"
        # Anyone else claiming to be HTTPS is not believed (only 127.0.0.1 may say so).
        status, headers, _ = get(port, "/login/", {"X-Forwarded-Proto": "https"}, source="127.0.0.2")
        assert status == 301


@pytest.mark.skipif(not mdwe_supported(), reason="the kernel has no PR_SET_MDWE")
def test_pillow_and_psycopg_work_without_writable_executable_memory(installed):
    script = (
        "import io, psycopg, segno\n"
        "from PIL import Image, ImageOps\n"
        "image = Image.effect_noise((640, 480), 30).convert('RGB')\n"
        "out = io.BytesIO(); image.save(out, 'JPEG'); image = ImageOps.exif_transpose(Image.open(out))\n"
        "image.thumbnail((200, 200)); image.save(io.BytesIO(), 'JPEG', quality=80); image.save(io.BytesIO(), 'PNG')\n"
        "segno.make('QRGATE', micro=False).save(io.BytesIO(), kind='png')\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", MDWE_EXEC, str(installed.python), "-c", script], capture_output=True, text=True
    )
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.skipif(not shutil.which("caddy"), reason="caddy missing (apt-get install caddy)")
def test_the_https_front_serves_the_app_with_a_certificate_from_its_local_ca(installed, tmp_path):
    assert subprocess.run(
        ["caddy", "adapt", "--config", str(installed.caddy_dir / "Caddyfile")], capture_output=True
    ).returncode == 0
    app_port, https_port, http_port = free_port(), free_port(), free_port()
    data = tmp_path / "xdg"
    pki = data / "caddy/pki/authorities/local"
    template = (installed.app / "deploy/Caddyfile").read_text()
    caddyfile = (
        template.replace("@HTTPS_SITES@", f"https://127.0.0.1:{https_port}")
        .replace("@HTTP_SITES@", f"http://127.0.0.1:{http_port}")
        .replace("@DEFAULT_SNI@", "127.0.0.1")
        .replace("@UPSTREAM@", f"127.0.0.1:{app_port}")
        .replace("@CADDY_PKI@", str(pki))
        # This test's own ports, and no admin endpoint on :2019.
        .replace("{\n", f"{{\n\tadmin off\n\tauto_https disable_redirects\n\thttp_port {http_port}\n"
                 f"\thttps_port {https_port}\n", 1)
    )
    (tmp_path / "Caddyfile").write_text(caddyfile)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(data),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    caddy = subprocess.Popen(
        ["caddy", "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        with installed.serving(app_port):
            deadline = time.monotonic() + 30
            while not (pki / "root.crt").exists():
                assert caddy.poll() is None, caddy.stderr.read()
                assert time.monotonic() < deadline, "caddy made no root certificate"
                time.sleep(0.2)
            # Phones download the root over plain HTTP on port 80.
            status, headers, body = get(http_port, "/qrgate-ca.crt", host=f"127.0.0.1:{http_port}")
            assert status == 200 and headers["Content-Type"] == "application/x-x509-ca-cert"
            assert body == (pki / "root.crt").read_text()
            status, headers, _ = get(http_port, "/scan/", host=f"127.0.0.1:{http_port}")
            assert status == 308 and headers["Location"].startswith("https://")
            # A client that trusts only that root opens https://<IP>/ (no server name sent).
            context = ssl.create_default_context(cafile=str(pki / "root.crt"))
            for _ in range(50):
                try:
                    conn = http.client.HTTPSConnection("127.0.0.1", https_port, context=context, timeout=10)
                    conn.request("GET", "/login/")
                    response = conn.getresponse()
                    break
                except (ssl.SSLError, ConnectionError):
                    time.sleep(0.2)  # the first certificate is being issued
            body = response.read().decode()
            assert response.status == 200 and 'name="password"' in body
            # gunicorn believed Caddy's X-Forwarded-Proto: the cookies are secure.
            assert "Secure" in response.getheader("Set-Cookie", "")
    finally:
        caddy.terminate()
        caddy.wait(10)


def test_a_second_run_upgrades_in_place_without_losing_data(installed):
    before = env_file(installed.env_file)
    password = (installed.data / "first-admin-password.txt").read_text()
    installed.manage(
        "shell", "-c",
        "from stations.models import Station; from drivers.models import Driver; "
        "Station.objects.create(name='Entrada', code='E1', kind='entry'); "
        "Driver.objects.create(full_name='Juan Pérez', license_number='LIC-1')",
    )
    (installed.data / "media/drivers").mkdir(parents=True, exist_ok=True)
    (installed.data / "media/drivers/photo.jpg").write_bytes(b"jpeg")
    installed.systemctl_log.write_text("")

    out = installed.run_installer()

    assert "Keeping the settings" in out and "Administrator already exists" in out
    assert env_file(installed.env_file) == before
    assert (installed.data / "first-admin-password.txt").read_text() == password
    assert (installed.data / "media/drivers/photo.jpg").read_bytes() == b"jpeg"
    counts = installed.manage(
        "shell", "-c",
        "from drivers.models import Driver; from accounts.models import User; "
        "print(Driver.objects.filter(license_number='LIC-1').count(), User.objects.filter(is_superuser=True).count())",
    )
    assert counts.split()[-2:] == ["1", "1"]
    # The unit did not change: a graceful reload, not a restart.
    assert "reload-or-restart qrgate.service" in installed.systemctl_log.read_text().splitlines()
    port = free_port()
    with installed.serving(port) as gunicorn:
        gunicorn.send_signal(signal.SIGHUP)  # what ExecReload does
        time.sleep(1)
        assert get(port, "/healthz")[0] == 200


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_answers_ok_without_login(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_and_reveals_nothing_when_the_database_does_not_answer(tmp_path):
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz'); print(r.status_code, repr(r.content))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "qrgate.settings",
        "QRGATE_ENV_FILE": str(tmp_path / "none.env"),
        "QRGATE_DATA_DIR": str(tmp_path),
        # Nothing listens on port 1: the database does not answer.
        "DATABASE_URL": "postgres://qrgate:secret@127.0.0.1:1/qrgate",
    }
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "503 b'db down\\n'", done.stderr
