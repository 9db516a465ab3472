"""The ``himaya`` command line."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from engine.clock import ManualClock
from engine.db import Database
from engine.definitions import read_forms_folder
from engine.errors import EngineError
from engine.runtime import SYSTEM, Engine


def _engine(clock: ManualClock | None = None) -> Engine:
    return Engine(Database(), clock=clock)


def _print_problems(error: EngineError) -> None:
    print(f"error: {error.message}", file=sys.stderr)
    problems = error.errors if isinstance(error.errors, list) else [error.errors] if error.errors else []
    for problem in problems:
        if isinstance(problem, dict) and "message" in problem:
            where = problem.get("element") or "-"
            line = f" (line {problem['line']})" if problem.get("line") else ""
            print(f"  {where}{line}: {problem['message']}", file=sys.stderr)
        else:
            print(f"  {problem}", file=sys.stderr)


def cmd_migrate(args: argparse.Namespace) -> int:
    from .setup import prepare

    for result in prepare(_engine()):
        state = "deployed" if result.created else "unchanged"
        print(f"{result.pathway.key} version {result.pathway.version}: {state}")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    forms_folder = Path(args.forms) if args.forms else path.parent / "forms"
    engine = _engine()
    engine.db.upgrade()
    try:
        forms = read_forms_folder(forms_folder)
        result = engine.deploy(path.read_bytes(), forms, SYSTEM, activate=not args.no_activate)
    except EngineError as error:
        _print_problems(error)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    state = "deployed" if result.created else "unchanged (identical to an existing version)"
    print(f"{result.pathway.key} version {result.pathway.version}: {state}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import load_demo
    from .setup import prepare

    engine = _engine()
    prepare(engine)
    created = load_demo(engine)
    print(f"demo data ready ({created} case(s) created)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .setup import prepare

    prepare(_engine())
    port = int(args.port or os.environ.get("HIMAYA_PORT", "5000"))
    if args.dev:
        create_app().run(host=args.host, port=port, debug=False, use_reloader=False)
        return 0
    from .server import run_gunicorn

    run_gunicorn(host=args.host, port=port, workers=args.workers)
    return 0


def cmd_scheduler_run_once(args: argparse.Namespace) -> int:
    clock = None
    if args.now:
        try:
            moment = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"error: --now expects an ISO-8601 date-time, got '{args.now}'", file=sys.stderr)
            return 2
        if moment.tzinfo is None:
            print("error: --now needs a time-zone offset, e.g. 2026-12-01T09:00:00+01:00", file=sys.stderr)
            return 2
        clock = ManualClock(moment)
    engine = _engine(clock)
    fired = engine.fire_due_timers()
    print(f"timers: {fired} case(s) moved")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="himaya", description="Himaya child-protection workflow engine")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="create or upgrade the database and deploy bpmn/").set_defaults(func=cmd_migrate)

    deploy = commands.add_parser("deploy", help="validate and deploy a BPMN pathway")
    deploy.add_argument("file", help="the .bpmn file")
    deploy.add_argument("--forms", help="folder of the forms (default: forms/ next to the file)")
    deploy.add_argument("--no-activate", action="store_true", help="store the version without activating it")
    deploy.set_defaults(func=cmd_deploy)

    commands.add_parser("demo", help="prepare the database and load demo data").set_defaults(func=cmd_demo)

    serve = commands.add_parser("serve", help="serve the web application and API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $HIMAYA_PORT or 5000")
    serve.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: CPU cores)")
    serve.add_argument("--dev", action="store_true", help="Flask development server")
    serve.set_defaults(func=cmd_serve)

    scheduler = commands.add_parser("scheduler", help="scheduled jobs")
    jobs = scheduler.add_subparsers(dest="scheduler_command", required=True)
    once = jobs.add_parser("run-once", help="run every job once")
    once.add_argument("--now", help="as of this ISO-8601 time (with offset)")
    once.set_defaults(func=cmd_scheduler_run_once)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
