"""The retention flow: once a month, premises ceased longer than `[retention] ceased_years`
lose their history and output files older than `[retention] output_days` go
(junkai.actions.batches.retention, with the right of `junkai purge`). One transaction each,
no retries: a purge that fails is simply run again next month, or by hand with `junkai purge`."""

from __future__ import annotations

from prefect import flow

from flows.common import confined
from junkai.actions import batches


@flow(name="retention", description="保存期間を過ぎた個人情報の削除 (転出・廃業した各戸の履歴、古い出力ファイル)")
def retention(operator: str | None = None, dry_run: bool = False) -> dict:
    """Counts only: what was removed, never whose."""
    with confined(operator, "setup") as ctx:  # as the one who serves it
        return batches.retention(ctx, dry_run=dry_run)
