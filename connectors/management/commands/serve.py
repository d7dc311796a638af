"""Run the whole product on one machine: migrate, make sure an admin exists, start the web server
and one django-q2 worker together, seed the sandbox demo once the server answers; Ctrl-C stops
both processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Start the web server and a worker together (what `make run` runs)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-seed", action="store_true", help="Skip the sandbox demo data.")

    def handle(self, *args, host: str, port: int, no_seed: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_admin")
        if "setup_schedules" in get_commands():
            call_command("setup_schedules")
        base = f"http://{host}:{port}"
        processes: list[subprocess.Popen] = []
        # A SIGTERM (a process manager, `kill`) stops both children as Ctrl-C does.
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            processes.append(
                subprocess.Popen(
                    [sys.executable, MANAGE, "runserver", f"{host}:{port}", "--noreload"]
                )
            )
            self._wait_until_up(base, processes[0])
            processes.append(subprocess.Popen([sys.executable, MANAGE, "qcluster"]))
            if settings.SANDBOX_ENABLED and not no_seed and "seed_demo" in get_commands():
                self._seed_demo(base)
            self._banner(base)
            self._wait(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop(processes)

    def _wait_until_up(self, base: str, web: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if web.poll() is not None:
                raise CommandError("The web server exited while starting; see its output above.")
            try:
                requests.get(f"{base}/admin/login/", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise CommandError(f"The web server did not answer on {base} within {timeout:.0f} s.")

    def _seed_demo(self, base: str) -> None:
        """The product runs without its demo: a failed seed is reported, not fatal."""
        try:
            call_command("seed_demo", base_url=base)
        except Exception as exc:
            self.stderr.write(
                self.style.ERROR(f"The sandbox demo was not seeded: {type(exc).__name__}: {exc}")
            )
            self.stderr.write(f"Once fixed, run: python manage.py seed_demo --base-url {base}")

    def _banner(self, base: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nml-connector is running at {base}/admin/"))
        if settings.SANDBOX_ENABLED:
            self.stdout.write(f"The sandbox console (the vendors' side) is at {base}/sandbox/")
        self.stdout.write("A worker is running. Press Ctrl-C to stop both.\n")

    def _wait(self, processes: list[subprocess.Popen]) -> None:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        stopped = next(p for p in processes if p.poll() is not None)
        args = stopped.args if isinstance(stopped.args, list) else [stopped.args]
        raise CommandError(
            f"{args[2:3][0] if args[2:3] else args[0]!s} stopped with exit code {stopped.returncode}."
        )

    def _stop(self, processes: list[subprocess.Popen]) -> None:
        for process in processes:
            if process.poll() is None:
                # SIGTERM, not SIGINT: a process started from a background job ignores SIGINT.
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
