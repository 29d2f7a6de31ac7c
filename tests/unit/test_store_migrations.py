"""Migration scripts split into statements with SQLite's own tokenizer; the application's
list is numbered 1, 2, ... and the runner refuses any other order."""

from __future__ import annotations

import pytest

from appliance.console.accounts_sql import ACCOUNTS_MIGRATION
from appliance.errors import StoreError
from appliance.governance.complaints import COMPLAINTS_MIGRATION
from appliance.governance.edge_refusals import EDGE_REFUSALS_MIGRATION
from appliance.quality.audio_store import AUDIO_MIGRATION
from appliance.quality.review import REVIEW_MIGRATION
from appliance.quality.wer_store import WER_MIGRATION
from appliance.services.app_db import MIGRATIONS
from appliance.store.migrations import (
    AUDIT_MIGRATION,
    CALLS_MIGRATION,
    Migration,
    check_sequence,
    next_migration,
    split_statements,
)
from appliance.store.spans import SPANS_MIGRATION

pytestmark = pytest.mark.unit


def test_statements_with_comments_strings_and_triggers() -> None:
    script = """
    CREATE TABLE a (x TEXT DEFAULT 'a;b');  -- a comment; with a semicolon
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 'y;z';
        DELETE FROM a WHERE x = '';
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[0].startswith("CREATE TABLE a") and "'a;b'" in statements[0]
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_an_unfinished_statement_is_an_error() -> None:
    with pytest.raises(StoreError) as err:
        split_statements("CREATE TABLE a (x TEXT")
    assert err.value.code == "store-migration-failed"


def test_every_migration_splits_cleanly() -> None:
    for migration in MIGRATIONS:
        assert split_statements(migration.sql)


def test_the_application_list_keeps_the_shipped_numbers() -> None:
    check_sequence(MIGRATIONS)
    assert [m.number for m in MIGRATIONS] == list(range(1, 20))
    assert MIGRATIONS[14] is REVIEW_MIGRATION
    assert MIGRATIONS[15] is WER_MIGRATION
    assert MIGRATIONS[16] is AUDIO_MIGRATION
    assert MIGRATIONS[17] is COMPLAINTS_MIGRATION
    assert MIGRATIONS[18] is EDGE_REFUSALS_MIGRATION
    assert MIGRATIONS[10] is SPANS_MIGRATION
    assert MIGRATIONS[6] is ACCOUNTS_MIGRATION
    assert MIGRATIONS[0] is CALLS_MIGRATION and MIGRATIONS[2] is AUDIT_MIGRATION


@pytest.mark.parametrize(
    "order",
    [(), (CALLS_MIGRATION, AUDIT_MIGRATION), (MIGRATIONS[1], MIGRATIONS[0], *MIGRATIONS[2:])],
    ids=["empty", "a gap", "reordered"],
)
def test_a_list_with_a_gap_or_out_of_order_is_refused(order: tuple[Migration, ...]) -> None:
    with pytest.raises(StoreError) as err:
        check_sequence(order)
    assert err.value.code == "store-migration-order"


def test_the_next_migration_and_a_newer_store() -> None:
    assert next_migration(0, MIGRATIONS) is CALLS_MIGRATION
    assert next_migration(len(MIGRATIONS), MIGRATIONS) is None
    with pytest.raises(StoreError) as err:
        next_migration(len(MIGRATIONS) + 1, MIGRATIONS)
    assert err.value.code == "store-schema-newer"
