"""The ``himaya`` command line."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine import crypto
from engine.assembly import assemble_engine
from engine.clock import ManualClock
from engine.db import Database
from engine.definitions.storage import read_forms_folder
from engine.errors import EngineError
from engine.runtime import SYSTEM, Engine
from engine.settings import Settings, SettingsError
from engine.vocabulary import ROLES


def _engine(args: argparse.Namespace, clock: ManualClock | None = None) -> Engine:
    settings: Settings = args.settings
    return assemble_engine(Database(settings.database), clock=clock, settings=settings)


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

    for result in prepare(_engine(args)):
        state = "deployed" if result.created else "unchanged"
        print(f"{result.pathway.key} version {result.pathway.version}: {state}")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    forms_folder = Path(args.forms) if args.forms else path.parent / "forms"
    engine = _engine(args)
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


def cmd_move_cases(args: argparse.Namespace) -> int:
    """Move the open cases of one pathway version to another: a dry run unless --apply."""
    from engine.migration import migrate

    try:
        report = migrate(_engine(args), args.key, args.from_version, args.to_version, actor=SYSTEM,
                         dry_run=not args.apply)
    except EngineError as error:
        _print_problems(error)
        return 1
    for case in report.cases:
        if case.migrated:
            outcome = "migrated"
        elif case.can_migrate:
            outcome = "can move"
        else:
            outcome = f"stays: {case.reason}"
        notes = [f"starts: {', '.join(case.started)}"] * bool(case.started) + \
            [f"ends the thread waiting at: {', '.join(case.ended)}"] * bool(case.ended)
        shown = f" ({'; '.join(notes)})" if notes else ""
        print(f"{case.reference}  at {', '.join(case.open_steps) or '-'}  → {outcome}{shown}")
    kind = "dry run" if report.dry_run else "migration"
    print(f"{args.key} {args.from_version} → {args.to_version}, {kind}: {len(report.cases)} open case(s), "
          f"{sum(c.can_migrate for c in report.cases)} can move, {report.migrated} migrated, "
          f"{sum(not c.can_migrate for c in report.cases)} stay")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import load_demo
    from .setup import prepare

    engine = _engine(args)
    prepare(engine)
    created = load_demo(engine)
    print(f"demo data ready ({created} case(s) created)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .setup import prepare

    prepare(_engine(args))
    _jobs(args)  # refuse to start on a bad HIMAYA_SMTP_URL
    settings: Settings = args.settings
    if settings.scheduler is None:  # `himaya serve` runs the jobs unless HIMAYA_SCHEDULER=off
        settings = replace(settings, scheduler=True)
    port = args.port or settings.port
    _warn_of_insecure_cookies(args.host, settings)
    if args.dev:
        create_app(settings=settings).run(host=args.host, port=port, debug=False, use_reloader=False)
        return 0
    from .server import run_gunicorn

    run_gunicorn(settings, host=args.host, port=port, workers=args.workers)
    return 0


def _warn_of_insecure_cookies(host: str, settings: Settings) -> None:
    """Say it loudly on stderr when other machines reach cookies that are not Secure (gunicorn's
    log says it again once the server is up: :func:`api.server.run_gunicorn`)."""
    from .server import insecure_cookies_warning

    warning = insecure_cookies_warning(host, settings)
    if warning:
        print(f"\nWARNING: {warning}\n", file=sys.stderr, flush=True)


def _jobs(args: argparse.Namespace, clock: ManualClock | None = None) -> Any:
    """The jobs with this deployment's channels; a bad HIMAYA_SMTP_URL stops here (exit 2)."""
    from notifications.channels import SmtpUrlError

    from .jobs import Jobs

    try:
        return Jobs.from_settings(_engine(args, clock), args.settings)
    except SmtpUrlError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_scheduler(args: argparse.Namespace) -> int:
    jobs = _jobs(args)
    print("scheduler running (Ctrl-C to stop)")
    try:
        jobs.scheduler(blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass
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
    outcome = _jobs(args, clock).run_once()
    delivery = outcome["delivery"]
    print(f"timers: {outcome['timers']} case(s) moved; reports opened: {outcome['reports']}; "
          f"escalations: {outcome['escalations']}; "
          f"stalled: {outcome['stalled']}; delivered: {delivery['sent']} sent, {delivery['expanded']} expanded, "
          f"{delivery['retried']} to retry, {delivery['dead']} dead")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("error: the two passwords differ")
    return first


def _user_command(args: argparse.Namespace, action: Any) -> int:
    from .users import UserError

    engine = _engine(args)
    engine.db.upgrade()
    try:
        with engine.db.transaction() as session:
            message = action(session, engine.now())
    except UserError as error:
        for field, problem in error.errors.items():
            print(f"error: {field}: {problem}", file=sys.stderr)
        return 1
    print(message)
    return 0


def _cli_actor() -> str:
    """Who the audit names for a change made on the command line: ``cli:<OS user>``."""
    import getpass

    from engine.admin_log import CLI

    try:
        return f"{CLI}:{getpass.getuser()}"[:100]
    except (KeyError, OSError):  # no user name for this uid (a container)
        return CLI


def cmd_user_add(args: argparse.Namespace) -> int:
    from .users import add_user, check_new_user, clean

    values = clean({"username": args.username, "password": _read_password(args), "role": args.role,
                    "language": args.language, "email": args.email, "phone": args.phone, "full_name": args.name})
    errors, password_hash = check_new_user(values)  # the slow hash before the transaction
    return _user_command(args, lambda session, now: "created: " + add_user(
        session, username=args.username, password_hash=password_hash, errors=errors, role=args.role, now=now,
        province=args.province, unit=args.unit, sector=args.sector, full_name=values["full_name"],
        language=args.language, email=values["email"], phone=values["phone"], actor=_cli_actor()).username)


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disable the account (tokens revoked), then put every task it held back in its lane; the
    province's coordinators are told which cases (engine.staffing)."""
    from engine.runtime import Actor
    from engine.staffing import release_all_of

    from .users import disable_user

    actor = _cli_actor()
    status = _user_command(args, lambda session, now: "disabled (tokens revoked): " + disable_user(
        session, args.username, now=now, actor=actor).username)
    if status == 0:
        released = release_all_of(_engine(args), args.username, Actor(actor, "administrator"))
        print(f"{len(released)} task(s) back in their lanes; the coordinators are told")
    return status


def cmd_user_set_password(args: argparse.Namespace) -> int:
    from .users import UserError, prepare_password, set_password

    try:
        password_hash = prepare_password(_read_password(args), args.username)
    except UserError as error:
        for field, problem in error.errors.items():
            print(f"error: {field}: {problem}", file=sys.stderr)
        return 1
    return _user_command(args, lambda session, now: "password changed (tokens revoked): " + set_password(
        session, args.username, password_hash=password_hash, now=now, actor=_cli_actor()).username)


def cmd_reports_open(args: argparse.Namespace) -> int:
    from engine.runtime import SYSTEM
    from engine.statistical_reports import open_quarter, parse_quarter

    try:
        quarter = parse_quarter(args.quarter)
    except ValueError as exc:
        print(f"error: --quarter: {exc}", file=sys.stderr)
        return 2
    engine = _engine(args)
    if quarter.period.end >= engine.now().date():
        print(f"error: --quarter: {quarter.label} has not ended yet", file=sys.stderr)
        return 2
    opened = open_quarter(engine, quarter, SYSTEM)
    print(f"{quarter.label}: {len(opened)} report(s) opened")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from engine import audit
    from engine.consistency import check
    from engine.sealing import broken

    engine = _engine(args)
    differences = 0
    for difference in check(engine):
        differences += 1
        print(f"difference: {difference}")
    for item in broken(engine.db):  # a sealed value that does not open is a difference too
        differences += 1
        print(f"difference: {item.table}.{item.column} row {item.key} does not open ({item.problem})")
    for problem in audit.verify(engine.db).problems:  # so is a broken link of the audit's chain
        differences += 1
        print(f"difference: audit trail, {problem.describe()}")
    print(f"checked: {differences} difference(s)")
    return 1 if differences else 0


def cmd_reindex_names(args: argparse.Namespace) -> int:
    """Rebuild every child's search keys (after an upgrade that changed how names are keyed)."""
    from engine.identity import reindex

    engine = _engine(args)
    with engine.db.write_connection() as conn:
        indexed = reindex(conn)
    print(f"search keys rebuilt for {indexed} case(s)")
    return 0


def cmd_audit_chain(args: argparse.Namespace) -> int:
    """Chain the events not chained yet (the scheduler does it every minute)."""
    from engine import audit

    engine = _engine(args)
    chained = audit.extend(engine.db, engine.now(), full=args.full)
    print(f"events chained: {chained}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit trail's hash chain; name the first broken link (exit 1)."""
    from engine import audit

    database = Database(args.settings.database)
    database.check_keys()
    result = audit.verify(database)
    first = result.first_broken
    if first is not None:
        print(f"first broken link: {first.describe()}")
        for problem in result.problems[1:]:
            print(f"also: {problem.describe()}")
    print(f"links checked: {result.links}; problems: {len(result.problems)}; "
          f"events waiting for the next chaining: {result.waiting}")
    return 0 if result.intact else 1


def cmd_retention(args: argparse.Namespace) -> int:
    """List (``--dry-run``) or anonymise the files whose retention has run out."""
    from engine import retention

    engine = _engine(args)
    now = engine.now()
    policy = args.settings.retention
    expired = retention.plan(engine.db, now, policy)
    print(f"retention: closed cases {policy.closed_case_years} years after closure and "
          f"{policy.after_majority_years} after majority; documents {policy.document_years} years; "
          f"rejected duplicate reviews {policy.rejected_duplicate_days} days")
    for entry in expired.files:
        of_age = entry.of_age_on.isoformat() if entry.of_age_on else "age unknown"
        print(f"file {entry.reference} ({entry.province}): closed {entry.closed_at.date().isoformat()}, "
              f"18 on {of_age}, {entry.documents} document(s)")
    for entry in expired.documents:
        print(f"documents of {entry.reference} ({entry.province}): closed {entry.closed_at.date().isoformat()}, "
              f"{entry.documents} document(s)")
    if expired.rejected_reviews:
        print(f"rejected duplicate reviews: {len(expired.rejected_reviews)}")
    if args.dry_run:
        print(f"dry run: {len(expired.files)} file(s) would be anonymised, "
              f"{sum(e.documents for e in expired.documents)} document(s) and {len(expired.rejected_reviews)} "
              "rejected review(s) removed; nothing changed")
        return 0
    outcome = retention.apply(engine.db, engine.definition, now, expired)
    print(f"{outcome.files} file(s) anonymised, {outcome.documents} document(s) and {outcome.rejected_reviews} "
          "rejected review(s) removed")
    for reference in outcome.skipped:
        print(f"skipped (changed meanwhile, next run): {reference}")
    return 0


def cmd_keys_new(_args: argparse.Namespace) -> int:
    """Print a new master key (to put in HIMAYA_DATA_KEY or a key file, 0600)."""
    print(crypto.new_master_key_text())
    return 0


def cmd_keys_check(args: argparse.Namespace) -> int:
    """Open every sealed value; name (never show) those that do not open."""
    from engine.sealing import broken

    database = Database(args.settings.database)
    database.check_keys()
    found = 0
    for item in broken(database):
        found += 1
        print(f"does not open: {item.table}.{item.column} row {item.key} ({item.problem})")
    print(f"sealed values checked: {found} that do not open")
    return 1 if found else 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Wrap the data keys with a new master key (``--new-key-file``, or HIMAYA_NEW_DATA_KEY); with
    ``--new-data-key`` also start sealing with a new data key, and ``--re-encrypt`` move what the
    older ones sealed (resumable)."""
    from engine.sealing import reencrypt

    database = Database(args.settings.database)
    database.check_keys()
    old = database.keys.master
    assert old is not None  # check_keys opened the data keys with it
    if args.new_key_file:
        path = Path(args.new_key_file)
        if not path.is_file():
            print(f"error: no such key file: {path}", file=sys.stderr)
            return 2
        new = crypto.parse_master_key(path.read_text(encoding="ascii"), f"the key file {path}")
    elif os.environ.get("HIMAYA_NEW_DATA_KEY"):
        new = crypto.parse_master_key(os.environ["HIMAYA_NEW_DATA_KEY"], "HIMAYA_NEW_DATA_KEY")
    else:
        new = old
    if new != old:
        with database.write_connection() as conn:
            count = crypto.rewrap(conn, old, new)
        print(f"{count} data key(s) wrapped with the new master key ({new.fingerprint}): start every node with it")
    if args.new_data_key:
        with database.write_connection() as conn:
            key_id = crypto.create_data_key(conn, new)
        print(f"data key {key_id} is active for new values")
    database.keys.master = new
    if args.re_encrypt:
        print(f"values sealed again with the active data key: {reencrypt(database)}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from engine.backup import BackupError, backup

    database = Database(args.settings.database)
    try:
        path = backup(database.url, Path(args.file))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"backup written to {path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from engine.backup import BackupError, restore

    database = Database(args.settings.database)
    database.dispose()
    try:
        restore(database.url, Path(args.file))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"restored from {args.file}")
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    """Pre-compress the pages' static files (gzip and brotli) and record their content hashes."""
    from .assets import BUILD, Assets, AssetsError

    built = Assets(build=Path(args.build) if args.build else BUILD)
    if args.check:
        problems = built.stale()
        for problem in problems:
            print(f"stale: {problem}")
        print(f"checked: {len(problems)} file(s) to rebuild" + (" — run `himaya assets`" if problems else ""))
        return 1 if problems else 0
    try:
        report = built.build_all()
    except (AssetsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"assets: {report.files} file(s) in {built.build}, {report.plain_bytes:,} bytes; "
          f"gzip {report.gzip_bytes:,}, brotli {report.brotli_bytes:,}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="himaya", description="Himaya child-protection workflow engine")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="create or upgrade the database and deploy bpmn/"
                        ).set_defaults(func=cmd_migrate)

    deploy = commands.add_parser("deploy", help="validate and deploy a BPMN pathway")
    deploy.add_argument("file", help="the .bpmn file")
    deploy.add_argument("--forms", help="folder of the forms (default: forms/ next to the file)")
    deploy.add_argument("--no-activate", action="store_true", help="store the version without activating it")
    deploy.set_defaults(func=cmd_deploy)

    built = commands.add_parser("assets", help="pre-compress the static files (gzip, brotli) and fingerprint "
                                "them; run at install (exit 1 on a missing file)")
    built.add_argument("--check", action="store_true", help="only report files not built for their current "
                       "content (exit 1 if any)")
    built.add_argument("--build", help="folder of the compressed copies (default: build/assets)")
    built.set_defaults(func=cmd_assets)
    commands.add_parser("demo", help="prepare the database and load demo data").set_defaults(func=cmd_demo)

    move = commands.add_parser("move-cases", help="move the open cases of a pathway version to another "
                               "(a dry run unless --apply)")
    move.add_argument("key", help="the pathway, e.g. child_protection")
    move.add_argument("--from", dest="from_version", type=int, required=True, help="the version the cases run")
    move.add_argument("--to", dest="to_version", type=int, required=True, help="the version to move them to")
    move.add_argument("--apply", action="store_true", help="migrate (without it: report what would happen)")
    move.set_defaults(func=cmd_move_cases)

    serve = commands.add_parser("serve", help="serve the web application and API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $HIMAYA_PORT or 5000")
    serve.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: CPU cores)")
    serve.add_argument("--dev", action="store_true", help="Flask development server")
    serve.set_defaults(func=cmd_serve)

    commands.add_parser("check", help="compare every open case's stored workflow with its projections"
                        ).set_defaults(func=cmd_check)
    commands.add_parser("reindex-names", help="rebuild the search keys of every child's names"
                        ).set_defaults(func=cmd_reindex_names)

    reports = commands.add_parser("reports", help="quarterly statistical reports")
    report_actions = reports.add_subparsers(dest="report_action", required=True)
    opening = report_actions.add_parser("open", help="open the reports of a past quarter (the scheduler opens "
                                                     "each quarter's when it ends)")
    opening.add_argument("--quarter", required=True, help="e.g. 2026-T3")
    opening.set_defaults(func=cmd_reports_open)

    backup = commands.add_parser("backup", help="write a consistent copy of the database (service may run)")
    backup.add_argument("file")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="replace the database with a backup (stop the service first)")
    restore.add_argument("file")
    restore.set_defaults(func=cmd_restore)

    trail = commands.add_parser("audit", help="the audit trail's hash chain")
    trail_actions = trail.add_subparsers(dest="audit_action", required=True)
    chain = trail_actions.add_parser("chain", help="chain the events not chained yet (the scheduler does it "
                                     "every minute)")
    chain.add_argument("--full", action="store_true", help="look through every event, not only recent ones")
    chain.set_defaults(func=cmd_audit_chain)
    trail_actions.add_parser("verify", help="recompute the chain and report the first broken link (exit 1)"
                             ).set_defaults(func=cmd_audit_verify)

    kept = commands.add_parser("retention", help="anonymise the files whose retention has run out "
                               "(HIMAYA_RETENTION_*; the scheduler does it daily)")
    kept.add_argument("--dry-run", action="store_true", help="list what would go, change nothing")
    kept.set_defaults(func=cmd_retention)

    keys = commands.add_parser("keys", help="the keys that seal the children's data")
    key_actions = keys.add_subparsers(dest="key_action", required=True)
    key_actions.add_parser("new", help="print a new master key").set_defaults(func=cmd_keys_new)
    key_actions.add_parser("check", help="open every sealed value; name those that do not open"
                           ).set_defaults(func=cmd_keys_check)
    rotate = key_actions.add_parser("rotate", help="wrap the data keys with a new master key, and/or start a "
                                                   "new data key (the service may run)")
    rotate.add_argument("--new-key-file", help="the new master key's file (else HIMAYA_NEW_DATA_KEY)")
    rotate.add_argument("--new-data-key", action="store_true", help="seal new values with a new data key")
    rotate.add_argument("--re-encrypt", action="store_true",
                        help="seal again with the active data key what older ones sealed (resumable)")
    rotate.set_defaults(func=cmd_keys_rotate)

    user = commands.add_parser("user", help="manage user accounts")
    user_actions = user.add_subparsers(dest="user_command", required=True)
    add = user_actions.add_parser("add", help="create a user (password asked, or read from stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True,
                     choices=ROLES)
    add.add_argument("--province")
    add.add_argument("--unit")
    add.add_argument("--sector")
    add.add_argument("--name", help="full name")
    add.add_argument("--email", help="where escalation e-mails reach the user")
    add.add_argument("--phone", help="digits and spaces, + before the country code")
    add.add_argument("--language", default="fr", choices=["fr", "ar", "en"])
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=cmd_user_add)
    disable = user_actions.add_parser("disable", help="disable a user and revoke its tokens")
    disable.add_argument("username")
    disable.set_defaults(func=cmd_user_disable)
    password = user_actions.add_parser("set-password", help="change a password (revokes tokens)")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(func=cmd_user_set_password)

    scheduler = commands.add_parser("scheduler", help="run the scheduled jobs (timers, escalation, outbox)")
    scheduler.set_defaults(func=cmd_scheduler)
    jobs = scheduler.add_subparsers(dest="scheduler_command")
    once = jobs.add_parser("run-once", help="run every job once")
    once.add_argument("--now", help="as of this ISO-8601 time (with offset)")
    once.set_defaults(func=cmd_scheduler_run_once)
    return parser


def main(argv: list[str] | None = None) -> int:
    from engine.errors import EngineError

    args = build_parser().parse_args(argv)
    try:
        args.settings = Settings.from_environment()
    except SettingsError as error:  # a bad variable: say which, start nothing
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except EngineError as exc:  # a refused command: say why, change nothing
        print(f"error: {exc.message}" + (f" {exc.errors}" if exc.errors else ""), file=sys.stderr)
        return 1
    except crypto.KeyProblem as exc:  # a missing or wrong master key: never a silent plain-text fallback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:  # the database cannot be reached or opened: say which, not a traceback
        url = make_url(args.settings.database).render_as_string(hide_password=True)
        print(f"error: cannot open the database {url}: {exc.orig}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
