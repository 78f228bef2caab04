"""Encrypted backups in several places, and verified restores (Điều 20.4)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ledger.base.settings import Settings, variable
from ledger.cli.common import (
    EXIT_OK,
    CliError,
    print_json,
    read_file,
    with_runtime,
    working,
)


def _backup_key(args: argparse.Namespace, settings: Settings) -> Any:
    from ledger.app.backup import BackupKey, configured_key

    if args.passphrase_env:
        value = variable(args.passphrase_env)
        if not value:
            raise CliError(f"the passphrase variable {args.passphrase_env} is empty or not set")
        return BackupKey(passphrase=value.encode())
    key = BackupKey.from_file(Path(args.key_file)) if args.key_file else configured_key(settings)
    if key is None:
        raise CliError(
            "give --key-file (or HOCBA_BACKUP_KEY_FILE), or --passphrase-env VAR; "
            "'hocba backup-key -o FILE' makes a key"
        )
    return key


def _destinations(names: list[str] | None, settings: Settings) -> list[Any]:
    from ledger.app.backup import LocalDirectory, configured_destinations

    return [LocalDirectory(Path(d)) for d in names] if names else configured_destinations(settings)


def cmd_backup_key(args: argparse.Namespace, settings: Settings) -> int:
    from ledger.app.backup import write_new_key

    write_new_key(Path(args.output))
    print(f"wrote {args.output}: keep a copy apart from the backups; without it they cannot be restored")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Checkpoint, dump, encrypt and store a backup in every destination (Điều 20.4, 28.1)."""
    from ledger.app.backup import create_backup

    key, destinations = _backup_key(args, settings), _destinations(args.to, settings)
    if not destinations:
        raise CliError("name the destinations with --to DIR (twice or more) or HOCBA_BACKUP_DIRS")
    if len(destinations) < 2:
        print("warning: one destination only; keep backups in two or more separate places", file=sys.stderr)

    async def body(runtime: Any) -> int:
        with working("đang sao lưu / backing up", quiet=args.json):
            made = await create_backup(runtime, destinations, key, keep=args.keep)
        if args.json:
            print_json(made)
        else:
            print(
                f"{made['file']}: {made['dump']['bytes']} bytes dumped, {len(made['checkpoints'])} checkpoints, "
                f"in {', '.join(made['destinations'])}"
            )
        return EXIT_OK

    return with_runtime(settings, body)


def _checkpoint_documents(paths: list[str] | None) -> list[Any]:
    documents = []
    for path in paths or []:
        doc = json.loads(read_file(path))
        documents += doc if isinstance(doc, list) else [doc]
    return documents


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore a backup into an empty database; verify; prove it extends every checkpoint held outside."""
    from ledger.app.backup import manifests, newest_outside, restore_backup
    from signing.x509.certs import load_certificates
    from signing.x509.pki import Pki

    if args.pitr:
        return cmd_restore_pitr(args, settings)
    if args.file is None or args.into is None:
        raise CliError("name the backup file and --into URL (or --pitr --to TIME|LSN --into DIR --port P)")
    data, key = read_file(args.file), _backup_key(args, settings)
    name = Path(args.file).name
    others = [m for m in manifests(_destinations(args.from_dirs, settings)) if m.get("file") != name]
    documents = _checkpoint_documents(args.checkpoint)
    roots = load_certificates(Path(args.trust)) if args.trust else Pki(settings.pki_dir).roots()
    with working("đang khôi phục và kiểm tra / restoring and verifying", quiet=args.json):
        report = asyncio.run(restore_backup(data, key, args.into, roots, newest_outside(others, documents)))
    if args.json:
        print_json(report)
    else:
        events = ", ".join(f"{log}: {v['events']} events" for log, v in report["verified"].items())
        print(
            f"restored {name} into the target database and verified it ({events}); "
            f"it extends {len(report['consistency'])} checkpoints held outside it"
        )
    return EXIT_OK


def cmd_restore_pitr(args: argparse.Namespace, settings: Settings) -> int:
    """pgBackRest restores a new cluster to a moment or an LSN; the service verifies it in full and
    refuses a point before a checkpoint held outside."""
    from ledger.app.backup import manifests, newest_outside
    from ledger.app.recovery.cluster import owner_for_clusters
    from ledger.app.recovery.pitr import PointRestore, Stanza, parse_target, restore_to_point
    from signing.x509.certs import load_certificates
    from signing.x509.pki import Pki

    if args.file is not None:
        raise CliError("--pitr restores from the pgBackRest repositories, not from a backup file")
    if not (args.to and args.into and args.port):
        raise CliError("--pitr needs --to TIME|LSN, --into DIR (a new directory) and --port P")
    destinations = _destinations(args.from_dirs, settings)
    files = [Path(d.label) / n for d in destinations for n in d.names() if n.endswith(".json")]
    files += [Path(f) for f in args.checkpoint or []]
    outside = newest_outside(manifests(destinations), _checkpoint_documents(args.checkpoint))
    stanza = Stanza(Path(args.pgbackrest_config), args.stanza, args.os_user or owner_for_clusters())
    request = PointRestore(
        stanza, parse_target(args.to), Path(args.into).resolve(), args.port, args.database, args.repo
    )
    roots = load_certificates(Path(args.trust)) if args.trust else Pki(settings.pki_dir).roots()
    with working("đang khôi phục và kiểm tra / restoring and verifying", quiet=args.json):
        report = asyncio.run(restore_to_point(settings, request, outside, files, roots, ask_witnesses=not args.offline))
    for note in report["notes"]:
        print(f"hocba: {note}", file=sys.stderr)
    if args.json:
        print_json(report)
    else:
        events = ", ".join(f"{log}: {v['events']} events" for log, v in report["verified"].items())
        print(
            f"restored to {report['target']} into {report['into']} and verified it ({events}, as of "
            f"{report['as_of']}); it holds every tree held outside; it runs at {report['url']}"
        )
    return EXIT_OK


def add_backup(commands: Any) -> None:
    backup_cmd = commands.add_parser("backup", help="an encrypted backup in every destination (Điều 20.4)")
    backup_cmd.add_argument(
        "--to", action="append", metavar="DIR", help="a destination; repeat (default: HOCBA_BACKUP_DIRS)"
    )
    backup_cmd.add_argument("--keep", type=int, default=14, help="backups kept per destination (default 14)")
    backup_cmd.add_argument("--json", action="store_true")
    _key_options(backup_cmd)
    backup_cmd.set_defaults(handler=cmd_backup)


def add_backup_key(commands: Any) -> None:
    key_cmd = commands.add_parser("backup-key", help="write a new random backup key")
    key_cmd.add_argument("-o", "--output", required=True)
    key_cmd.set_defaults(handler=cmd_backup_key)


def add_restore(commands: Any) -> None:
    restore_cmd = commands.add_parser(
        "restore", help="restore a backup into an empty database, or a cluster to a point in time; verified"
    )
    restore_cmd.add_argument("file", metavar="BACKUP.hbk", nargs="?", help="a backup file (not with --pitr)")
    restore_cmd.add_argument(
        "--into", metavar="URL|DIR", help="the empty target database; with --pitr, a new directory for the cluster"
    )
    restore_cmd.add_argument(
        "--from",
        dest="from_dirs",
        action="append",
        metavar="DIR",
        help="destinations whose other backups' checkpoints it must extend (default: HOCBA_BACKUP_DIRS)",
    )
    restore_cmd.add_argument("--checkpoint", action="append", metavar="FILE", help="a checkpoint kept elsewhere (JSON)")
    restore_cmd.add_argument("--trust", help="trusted root certificates, PEM (default: this installation's)")
    restore_cmd.add_argument("--json", action="store_true")
    _key_options(restore_cmd)
    pitr = restore_cmd.add_argument_group("point in time (pgBackRest)")
    pitr.add_argument("--pitr", action="store_true", help="restore a new cluster from the pgBackRest repositories")
    pitr.add_argument("--to", metavar="TIME|LSN", help="2026-11-28T01:00:00+07:00, or an LSN such as 0/3000060")
    pitr.add_argument("--port", type=int, help="the new cluster's port (on its Unix socket in DIR)")
    pitr.add_argument("--stanza", default="hocba", help="the pgBackRest stanza (default hocba)")
    pitr.add_argument(
        "--pgbackrest-config",
        default="/etc/pgbackrest/pgbackrest.conf",
        metavar="FILE",
        help="pgBackRest's configuration (default: its own default)",
    )
    pitr.add_argument("--repo", type=int, help="restore from this repository only (default: each in turn)")
    pitr.add_argument("--database", default="hocba", help="the service's database in the cluster (default hocba)")
    pitr.add_argument("--os-user", help="the cluster's owner (default: yours, or postgres for root)")
    pitr.add_argument("--offline", action="store_true", help="do not ask the witnesses what they cosigned")
    restore_cmd.set_defaults(handler=cmd_restore)


def _key_options(command: Any) -> None:
    command.add_argument("--key-file", help="the backup key (default: HOCBA_BACKUP_KEY_FILE)")
    command.add_argument("--passphrase-env", metavar="VAR", help="read a passphrase from this variable instead")
