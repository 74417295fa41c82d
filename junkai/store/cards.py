"""Premises and their cards: append-only events, and the card view kept beside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Iterable

import sqlalchemy as sa

from junkai import JunkaiError, model
from junkai.store.schema import card, card_event, dumps, end_of, loads, premises

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Card:
    premises: dict
    data: dict
    version: int
    created_on: date | None
    confirmed_on: date | None
    confirmed_source: str | None


class Cards:
    """Premises, card events and the card view."""

    def next_premises_id(self) -> int:
        return (self.conn.execute(sa.select(sa.func.max(premises.c.id))).scalar_one() or 0) + 1

    def add_premises(self, kind: str, beat_id: str, address: dict, at: datetime, operator: str) -> int:
        if kind not in model.PREMISES_KINDS:
            raise JunkaiError(f"種別は household、business、apartment のどれかです: {kind!r}")
        self.beat(beat_id)
        pid = self.next_premises_id()
        self.conn.execute(premises.insert().values(
            id=pid, kind=kind, beat_id=beat_id, status=model.ACTIVE, status_since=at.date(),
            created_at=at, created_by=operator, **address))
        return pid

    def premises(self, premises_id: int) -> dict:
        row = self.conn.execute(sa.select(premises).where(premises.c.id == premises_id)).mappings().first()
        if row is None:
            raise JunkaiError(f"各戸が見つかりません: {premises_id}")
        return dict(row)

    # A building's card and its rooms are linked by address, not by a stored link: a room's address
    # already names its building (postal code, town, block and building name, as on the visit list),
    # so the link follows every correction of an address and there is no second record to keep true.
    def _same_building(self, p: dict):
        name = (p.get("building") or "").strip()
        if not name:
            return None
        return sa.and_(premises.c.postal_code == p["postal_code"], premises.c.town == p["town"],
                       premises.c.block == p["block"], sa.func.trim(premises.c.building) == name)

    def building_of(self, p: dict) -> dict | None:
        """The 集合住宅 premises whose card covers a room's premises (the oldest current one), or None."""
        same = self._same_building(p)
        if p["kind"] == model.APARTMENT or same is None:
            return None
        row = self.conn.execute(sa.select(premises).where(same, premises.c.kind == model.APARTMENT)
                                .order_by((premises.c.status != model.ACTIVE), premises.c.id).limit(1)).mappings().first()
        return dict(row) if row else None

    def rooms_of(self, p: dict) -> list[dict]:
        """The households and businesses in a building, for its 集合住宅 premises, by room."""
        same = self._same_building(p)
        if p["kind"] != model.APARTMENT or same is None:
            return []
        rows = self.conn.execute(sa.select(premises).where(same, premises.c.kind != model.APARTMENT)
                                 .order_by(premises.c.room, premises.c.id)).mappings()
        return [dict(r) for r in rows]

    def card(self, premises_id: int) -> Card:
        p = self.premises(premises_id)
        row = self.conn.execute(sa.select(card).where(card.c.premises_id == premises_id)).mappings().first()
        if row is None:
            return Card(p, model.empty_card(p["kind"]), 0, None, None, None)
        return Card(p, loads(row["data"]), row["version"], row["created_on"], row["confirmed_on"],
                    row["confirmed_source"])

    def cards_of_beat(self, beat_id: str) -> list[Card]:
        self.beat(beat_id)
        q = (sa.select(premises, card.c.data, card.c.version, card.c.created_on, card.c.confirmed_on,
                       card.c.confirmed_source)
             .select_from(premises.outerjoin(card, card.c.premises_id == premises.c.id))
             .where(premises.c.beat_id == beat_id).order_by(premises.c.id))
        out = []
        for r in self.conn.execute(q).mappings():
            p = {c.name: r[c.name] for c in premises.columns}
            data = loads(r["data"]) if r["data"] is not None else model.empty_card(p["kind"])
            out.append(Card(p, data, r["version"] or 0, r["created_on"], r["confirmed_on"], r["confirmed_source"]))
        return out

    def premises_ids_of_beat(self, beat_id: str) -> list[int]:
        return list(self.conn.execute(
            sa.select(premises.c.id).where(premises.c.beat_id == beat_id).order_by(premises.c.id)).scalars())

    def premises_id_set(self) -> set[int]:
        return set(self.conn.execute(sa.select(premises.c.id)).scalars())

    def premises_by_postal_code(self, postal_code: str) -> list[Card]:
        ids = self.conn.execute(sa.select(premises.c.id).where(
            premises.c.postal_code == postal_code, premises.c.status == model.ACTIVE).order_by(premises.c.id)).scalars()
        return [self.card(pid) for pid in ids]

    def events(self, premises_id: int, until: date | datetime | None = None) -> list[dict]:
        q = sa.select(card_event).where(card_event.c.premises_id == premises_id)
        if until is not None:
            q = q.where(card_event.c.at <= end_of(until))
        rows = self.conn.execute(q.order_by(card_event.c.version, card_event.c.id)).mappings()
        return [dict(r, before=loads(r["before"]), after=loads(r["after"])) for r in rows]

    def card_at(self, premises_id: int, at: date | datetime | None = None) -> dict:
        """Rebuild the card from its events alone, as it stood at the end of `at`."""
        p = self.premises(premises_id)
        return model.rebuild(p["kind"], ((e["path"], e["after"]) for e in self.events(premises_id, at)))

    def card_at_version(self, premises_id: int, version: int) -> dict:
        """The card as it was printed: its events up to that version."""
        p = self.premises(premises_id)
        rows = self.conn.execute(
            sa.select(card_event.c.path, card_event.c.after)
            .where(card_event.c.premises_id == premises_id, card_event.c.version <= version)
            .order_by(card_event.c.version, card_event.c.id))
        return model.rebuild(p["kind"], ((path, loads(after)) for path, after in rows))

    def change_card(self, premises_id: int, changes: Iterable[tuple[str, Any]], at: datetime, source: str,
                    operator: str) -> int:
        """Append the changes as events and bring the card view up to date; returns the new version.

        The values are stored as given: the caller validates them first (model.validate_changes).
        A change to the value a field already has is no event.
        """
        current = self.card(premises_id)
        data = current.data
        rows = []
        version = current.version + 1
        for path, value in changes:
            before = model.get_path(data, path)
            if before == value or (value is None and before in (None, [], "")):
                continue
            model.apply(data, path, value)
            rows.append(dict(premises_id=premises_id, version=version, path=path, before=dumps(before),
                             after=dumps(value), at=at, source=source, operator=operator,
                             recorded_at=datetime.now()))
        if not rows:
            return current.version
        self.conn.execute(card_event.insert(), rows)
        self._save_card(premises_id, current, data, version, at.date(), source)
        return version

    def confirm_card(self, premises_id: int, at: datetime, source: str, operator: str) -> None:
        """Residents confirmed the card unchanged (変更なし): its confirmation date advances."""
        current = self.card(premises_id)
        if current.version == 0:
            raise JunkaiError(f"各戸 {premises_id} にはまだカードがありません")
        self.conn.execute(card_event.insert().values(
            premises_id=premises_id, version=current.version, path=model.CONFIRM, before=None,
            after=dumps(at.date().isoformat()), at=at, source=source, operator=operator, recorded_at=datetime.now()))
        self._save_card(premises_id, current, current.data, current.version, at.date(), source)

    def _save_card(self, premises_id: int, current: Card, data: dict, version: int, day: date, source: str) -> None:
        confirmed = max(day, current.confirmed_on) if current.confirmed_on else day
        values = dict(version=version, data=dumps(data), confirmed_on=confirmed,
                      confirmed_source=source if confirmed == day else current.confirmed_source)
        if current.version == 0:
            self.conn.execute(card.insert().values(premises_id=premises_id, created_on=day, **values))
        else:
            self.conn.execute(card.update().where(card.c.premises_id == premises_id).values(**values))

    def set_status(self, premises_id: int, status: str, at: datetime, source: str, operator: str) -> None:
        p = self.premises(premises_id)
        if status not in model.PREMISES_STATUSES:
            raise JunkaiError(f"状態は {'/'.join(model.PREMISES_STATUSES)} のいずれかです: {status!r}")
        if p["status"] == status:
            return
        version = self.card(premises_id).version
        self.conn.execute(card_event.insert().values(
            premises_id=premises_id, version=version, path=model.STATUS, before=dumps(p["status"]),
            after=dumps(status), at=at, source=source, operator=operator, recorded_at=datetime.now()))
        self.conn.execute(premises.update().where(premises.c.id == premises_id)
                          .values(status=status, status_since=at.date()))

    def _event(self, premises_id: int, path: str, before: Any, after: Any, at: datetime, source: str,
               operator: str) -> None:
        """A fact about the premises (not a card field) in its history, at the card's current version."""
        self.conn.execute(card_event.insert().values(
            premises_id=premises_id, version=self.card(premises_id).version, path=path, before=dumps(before),
            after=dumps(after), at=at, source=source, operator=operator, recorded_at=datetime.now()))

    def correct_address(self, premises_id: int, address: dict, at: datetime, source: str, operator: str) -> None:
        """The same premises, its address written wrongly before: corrected, the old one kept in its history."""
        p = self.premises(premises_id)
        before, after = model.address_line(p), model.address_line(address)
        if before == after:
            return
        self._event(premises_id, model.ADDRESS, before, after, at, source, operator)
        self.conn.execute(premises.update().where(premises.c.id == premises_id)
                          .values(**{k: address.get(k) for k in model.ADDRESS_PARTS}))

    def move_premises(self, premises_id: int, address: dict, at: datetime, source: str, operator: str) -> int:
        """The household (or business) moved: the premises ceases, a new one at the new address (same beat)
        takes its card over, each history names the other. Returns the new premises id."""
        p = self.premises(premises_id)
        if p["status"] != model.ACTIVE:
            raise JunkaiError(f"各戸 {premises_id} はすでに{model.PREMISES_STATUSES[p['status']]}です。転居を記録できません")
        new = self.add_premises(p["kind"], p["beat_id"], {k: address.get(k) for k in model.ADDRESS_PARTS}, at, operator)
        data = self.card(premises_id).data
        # row by row, keeping each member's key: the new card's history reads as the people it holds
        carried: list[tuple[str, Any]] = []
        for k, v in data.items():
            carried += [(f"{k}.{key}", row) for key, row in v.items()] if k in model.GROUPS else [(k, v)]
        if carried:
            self.change_card(new, carried, at, source, operator)
        self._event(new, model.MOVED_FROM, None, premises_id, at, source, operator)
        self._event(premises_id, model.MOVED_TO, None, new, at, source, operator)
        self.set_status(premises_id, model.CEASED, at, source, operator)
        return new

    def moved_to(self, premises_id: int) -> int | None:
        """The premises the residents moved to from this one, if they did."""
        after = self.conn.execute(
            sa.select(card_event.c.after).where(card_event.c.premises_id == premises_id,
                                                card_event.c.path == model.MOVED_TO)
            .order_by(card_event.c.id.desc()).limit(1)).scalar()
        return loads(after) if after is not None else None

    def amendments(self, since: date | None, beat_id: str | None) -> "pd.DataFrame":
        """Card changes with their sources, newest last (confirmations without change left out)."""
        import pandas as pd

        q = (sa.select(card_event.c.premises_id, premises.c.beat_id, card_event.c.version, card_event.c.at,
                       card_event.c.path, card_event.c.before, card_event.c.after, card_event.c.source,
                       card_event.c.operator, card_event.c.recorded_at)
             .select_from(card_event.join(premises)).where(card_event.c.path != model.CONFIRM)
             .order_by(card_event.c.recorded_at, card_event.c.id))
        if since:
            q = q.where(card_event.c.recorded_at >= datetime.combine(since, time.min))
        if beat_id:
            self.beat(beat_id)
            q = q.where(premises.c.beat_id == beat_id)
        rows = [r._asdict() for r in self.conn.execute(q)]
        for r in rows:
            r["before"], r["after"] = loads(r["before"]), loads(r["after"])
        return pd.DataFrame(rows, columns=[c.name for c in q.selected_columns])

    def addresses(self, premises_ids: Iterable[int]) -> dict[int, str]:
        """The address of each premises, for a list that a person reads (the chief's, never HQ's)."""
        ids = sorted(set(int(i) for i in premises_ids))
        out = {}
        for chunk in range(0, len(ids), 500):
            rows = self.conn.execute(sa.select(premises).where(premises.c.id.in_(ids[chunk:chunk + 500])))
            for r in rows.mappings():
                out[r["id"]] = "".join((r["city"], r["town"], r["block"])) + "".join(
                    f" {r[k]}" for k in ("building", "room") if r[k])
        return out
