"""``python -m crm1c.audit story <query>``: the whole story of a record, then the audit chain verified.

Exit codes: 0 the story is printed and the chain verifies; 1 the audit chain is broken; 2 nothing in
staging matches the query (or the query cannot be read); 3 the staging database cannot be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from crm1c.audit.chain import check_chain
from crm1c.audit.query import HELP, QueryError, parse_query
from crm1c.audit.render import as_json, as_text, document
from crm1c.audit.source import StagingUnavailable, default_staging_url, open_staging
from crm1c.audit.story import find_stories

OK, CHAIN_BROKEN, NO_MATCH, NO_STAGING = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="crm1c-audit", description="The audit of crm1c's staging database.")
    commands = cli.add_subparsers(dest="command", required=True)
    story = commands.add_parser(
        "story",
        help="everything staging knows about one record, in time order, and the audit chain verified",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    story.add_argument("query", help=HELP)
    story.add_argument(
        "--entity", help="staging entity (e.g. counterparty) or DAG name (counterparties); default: all"
    )
    story.add_argument(
        "--staging-url",
        help="SQLAlchemy URL (sqlite:///… or postgresql+psycopg2://…); default: the crm1c_staging connection "
        "from AIRFLOW_CONN_CRM1C_STAGING, else $AIRFLOW_HOME/staging.sqlite3 (<repo>/.airflow/)",
    )
    story.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    return cli


def entity_key(name: str | None) -> str | None:
    """A staging entity name; a DAG name (``counterparties``) is turned into its key (``counterparty``)."""
    if not name:
        return None
    from crm1c.sync.entities import ENTITY_NAMES, entity

    return entity(name).key if name in ENTITY_NAMES else name


def story_command(args: argparse.Namespace) -> int:
    try:
        query = parse_query(args.query)
    except QueryError as exc:
        print(f"crm1c-audit: {exc}", file=sys.stderr)
        return NO_MATCH
    try:
        staging = open_staging(args.staging_url or default_staging_url())
    except StagingUnavailable as exc:
        print(f"crm1c-audit: {exc}", file=sys.stderr)
        return NO_STAGING
    try:
        stories = find_stories(staging, query, entity_key(args.entity))
        chain = check_chain(staging)
    finally:
        staging.engine.dispose()
    doc = document(query, stories, chain)
    write(as_json(doc) + "\n" if args.json else as_text(doc))
    if not chain.ok:
        return CHAIN_BROKEN
    return OK if stories else NO_MATCH


def write(text: str) -> None:
    """Print to stdout; a reader that stops early (``| head``) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return story_command(args)


if __name__ == "__main__":
    sys.exit(main())
