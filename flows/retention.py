"""The retention flow: once a month, premises ceased longer than `[retention] ceased_years`
lose their history and output files older than `[retention] output_days` go
(junkai.retention). One transaction, no retries: a purge that fails is simply run again
next month, or by hand with `junkai purge`."""

from __future__ import annotations

from prefect import flow

from junkai import retention as R
from junkai import settings as settings_mod
from junkai.store import Store


@flow(name="retention", description="保存期間を過ぎた個人情報の削除 (転出・廃業した各戸の履歴、古い出力ファイル)")
def retention(operator: str = "保存期間", dry_run: bool = False) -> dict:
    """Counts only: what was removed, never whose."""
    s = settings_mod.load()
    store = Store(s.db_url)
    try:
        store.check_ready()
        ceased = R.purge_ceased(store, s.home, s.ceased_years, operator, dry_run=dry_run, inbox_of=s.inbox_of)
        output = R.purge_output(store, [s.output], s.output_days, operator, dry_run=dry_run)
    finally:
        store.close()
    return dict(premises=ceased.premises, files=ceased.files_removed + ceased.archive_removed,
                output_files=output.files, failed=ceased.failed + output.failed)
