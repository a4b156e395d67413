"""DigitalNZ: a fixed, seeded set of records that the search lists and the record and
more-like-this operations find by id.

The generic semantics serve the search and the record get (the profile's ``resources``
maps them, ``filters`` gives the bracketed filters and ``text``). What the document cannot
say is here:

- the records themselves: plausible New Zealand heritage items, the same for the same
  ``--seed``, the document's example ids among them (``/records/1788754.json`` finds the
  documented "Election night crowd, Wellington, 1931");
- an unknown id is the documented "Record with ID 123 was not found";
- ``fields=title,subject`` (or ``verbose``) chooses the fields of each record answered,
  ``facets=category,year`` counts the matching records by value, ``request_url`` is the
  request's own;
- ``more_like_this`` answers the records sharing title words or subjects with the given
  one (``mlt_fields``), most alike first, narrowed by the search's bracketed filters.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from apitwin.behaviours.base import Behaviour, reject
from apitwin.conventions.pagination import PagingError
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.engine.operation import Rejection
from apitwin.state.semantics import FamilyRuntime
from apitwin.state.store import Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["DigitalNZ", "install", "seed_records"]

FAMILY = "records"
SEARCH = "get_records_format"
RECORD = "get_records_record_id_format"
MORE_LIKE_THIS = "get_records_record_id_more_like_this_format"
COUNT = 40  # records in the seeded set: two pages of the default 20
MLT_FIELDS = ("title", "subject")  # what the document says relatedness may compare
MLT_PAGE = 5

# The document's own example ids: the record schema's, then the record and more-like-this
# path parameters'.
_EXAMPLE_IDS = (1788754, 189089, 35806021)

# (content partner, display collection, category, landing host, rights, usage, copyright)
_SOURCES = (
    (
        "Alexander Turnbull Library",
        "Te Puna Mātauranga o Aotearoa - National Library of New Zealand",
        "Images",
        "natlib.govt.nz",
        "No known copyright restrictions",
        ["Share", "Modify", "Use commercially"],
        ["No known copyright restrictions"],
    ),
    (
        "National Library of New Zealand",
        "Papers Past",
        "Newspapers",
        "paperspast.natlib.govt.nz",
        "No known copyright restrictions",
        ["Share", "Modify", "Use commercially"],
        ["No known copyright restrictions"],
    ),
    (
        "Auckland Museum",
        "Auckland Museum Collections Online",
        "Images",
        "www.aucklandmuseum.com",
        "Attribution 4.0 International (CC BY 4.0)",
        ["Share", "Modify", "Use commercially"],
        ["Some rights reserved"],
    ),
    (
        "Museum of New Zealand Te Papa Tongarewa",
        "Te Papa Collections Online",
        "Images",
        "collections.tepapa.govt.nz",
        "All rights reserved",
        ["All rights reserved"],
        ["All rights reserved"],
    ),
    (
        "Canterbury Museum",
        "Canterbury Museum",
        "Images",
        "collection.canterburymuseum.com",
        "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)",
        ["Share", "Modify"],
        ["Some rights reserved"],
    ),
    (
        "Puke Ariki",
        "Puke Ariki Collections",
        "Archives",
        "collection.pukeariki.com",
        "Unknown",
        ["Unknown"],
        ["Unknown"],
    ),
    (
        "Christchurch City Libraries",
        "Kete Christchurch",
        "Books",
        "my.christchurchcitylibraries.com",
        "Attribution-NonCommercial-ShareAlike 4.0 International (CC BY-NC-SA 4.0)",
        ["Share", "Modify"],
        ["Some rights reserved"],
    ),
    (
        "Ngā Taonga Sound & Vision",
        "Ngā Taonga Sound & Vision",
        "Audio",
        "www.ngataonga.org.nz",
        "All rights reserved",
        ["All rights reserved"],
        ["All rights reserved"],
    ),
)

# (what is shown, its subjects)
_SUBJECTS = (
    ("Election night crowd", ["Elections", "Crowds"]),
    ("Tram on the main street", ["Trams", "Streets"]),
    ("Sheep shearing gang", ["Sheep shearing", "Farming"]),
    ("Waka on the river", ["Waka", "Rivers"]),
    ("Lighthouse and keeper's cottage", ["Lighthouses", "Coasts"]),
    ("Flood damage after the storm", ["Floods", "Storms"]),
    ("School children with their teacher", ["Schools", "Children"]),
    ("Railway station platform", ["Railway stations", "Trains"]),
    ("Wedding group", ["Weddings", "Families"]),
    ("Rugby match crowd", ["Rugby football", "Crowds"]),
    ("Gold miners' camp", ["Gold mining", "Camps"]),
    ("Kiwi in the bush", ["Kiwi", "Native birds"]),
    ("Kauri logs at the mill", ["Kauri", "Sawmills"]),
    ("Opening of the bridge", ["Bridges", "Ceremonies"]),
    ("Harbour ferry leaving the wharf", ["Ferries", "Harbours"]),
    ("Street parade", ["Parades", "Streets"]),
)

# (place, latitude, longitude)
_PLACES = (
    ("Wellington", -41.2865, 174.7762),
    ("Auckland", -36.8485, 174.7633),
    ("Christchurch", -43.5321, 172.6362),
    ("Dunedin", -45.8788, 170.5028),
    ("New Plymouth", -39.0556, 174.0752),
    ("Napier", -39.4928, 176.9120),
    ("Whanganui", -39.9301, 175.0479),
    ("Nelson", -41.2706, 173.2840),
    ("Hokitika", -42.7167, 170.9667),
    ("Rotorua", -38.1368, 176.2497),
)

_CREATORS = (
    "Leslie Adkin",
    "Burton Brothers",
    "Frederick George Radcliffe",
    "Sydney Charles Smith",
    "William Williams",
    "Albert Percy Godber",
    "Tesla Studios",
    "Evening Post",
    "Unknown",
)


def _record(rng: random.Random, ident: int, index: int) -> dict[str, Any]:
    """One record, every field of the document's record schema filled."""
    if index == 0:  # the document's example record
        shown, subjects = _SUBJECTS[0]
        place, lat, lng = _PLACES[0]
        year, source = 1931, _SOURCES[0]
    else:
        shown, subjects = rng.choice(_SUBJECTS)
        place, lat, lng = rng.choice(_PLACES)
        year, source = rng.randint(1860, 1985), rng.choice(_SOURCES)
    partner, collection, category, host, rights, usage, copyright_ = source
    creator = rng.choice(_CREATORS)
    title = f"{shown}, {place}, {year}"
    harvested = (
        f"20{rng.randint(12, 24):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.000Z"
    )
    identifier = (
        f"{''.join(w[0] for w in partner.split() if w[0].isupper())}-{rng.randint(1000, 99999)}"
    )
    thumbnail = f"https://thumbnailer.digitalnz.org/?src=https://{host}/images/{identifier}.jpg"
    return {
        "id": ident,
        "title": title,
        "description": (
            f"{shown} at {place}, {'photographed' if category == 'Images' else 'recorded'} "
            f"in {year}. {collection} ({partner})."
        ),
        "category": [category],
        "content_partner": [partner],
        "display_content_partner": partner,
        "display_collection": collection,
        "collection": [collection],
        "collection_title": [collection],
        "primary_collection": [collection],
        "creator": [creator],
        "date": [f"{year}-01-01T00:00:00.000Z"],
        "display_date": f"Circa {year}" if rng.random() < 0.3 else str(year),
        "dc_identifier": [identifier],
        "landing_url": f"https://{host}/records/{identifier}",
        "source_url": f"https://api.digitalnz.org/records/{ident}/source",
        "thumbnail_url": thumbnail,
        "large_thumbnail_url": f"{thumbnail}&resize=800x",
        "locations": [
            {
                "placename": place,
                "lat": lat,
                "lng": lng,
                "comment": f"Location provided by {partner}",
            }
        ],
        "rights": rights,
        "rights_url": ["https://creativecommons.org/licenses/"]
        if "CC" in rights
        else [f"https://{host}/terms-of-use"],
        "subject": list(subjects),
        "usage": list(usage),
        "copyright": list(copyright_),
        "created_at": harvested,
        "updated_at": harvested,
    }


def seed_records(seed: int, count: int = COUNT) -> list[dict[str, Any]]:
    """The seeded set: the same records for the same seed, the document's example ids
    first, then distinct 7- and 8-digit ids."""
    rng = random.Random(f"digitalnz:{seed}")
    ids = list(_EXAMPLE_IDS[:count])
    taken = set(ids)
    while len(ids) < count:
        ident = rng.randint(1_000_000, 49_999_999)
        if ident not in taken:
            taken.add(ident)
            ids.append(ident)
    return [_record(rng, ident, index) for index, ident in enumerate(ids)]


# -- answers ------------------------------------------------------------------------------

_FACET_FIELDS = {
    "category": "category",
    "content_partner": "content_partner",
    "display_collection": "display_collection",
    "collection": "collection",
    "creator": "creator",
    "rights": "rights",
    "usage": "usage",
    "copyright": "copyright",
    "subject": "subject",
}
_WORD = re.compile(r"[^\W_]+")


def _facet_values(record: dict[str, Any], facet: str) -> list[str]:
    """A record's values for one facet; the date facets come from its ``date``."""
    if facet == "placename":
        return [str(loc.get("placename")) for loc in record.get("locations") or [] if loc]
    if facet in ("date", "year", "decade", "century"):
        years = [str(d)[:4] for d in record.get("date") or [] if str(d)[:4].isdigit()]
        if facet == "decade":
            return [f"{y[:3]}0" for y in years]
        if facet == "century":
            return [f"{y[:2]}00" for y in years]
        return years
    name = _FACET_FIELDS.get(facet)
    value = record.get(name) if name else None
    values = value if isinstance(value, list) else [] if value is None else [value]
    return [str(v) for v in values]


def facets(records: Iterable[dict[str, Any]], names: list[str], per_page: int) -> dict[str, Any]:
    """Counts per value of each facet asked for, most frequent first."""
    counted: dict[str, Counter[str]] = {name: Counter() for name in names}
    for record in records:
        for name, counter in counted.items():
            counter.update(set(_facet_values(record, name)))
    return {
        name: dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:per_page])
        for name, counter in counted.items()
    }


def _mlt_terms(record: dict[str, Any], fields: tuple[str, ...]) -> set[tuple[str, str]]:
    terms: set[tuple[str, str]] = set()
    if "title" in fields:
        words = _WORD.findall(str(record.get("title", "")).casefold())
        terms |= {("title", w) for w in words if len(w) > 3 and not w.isdigit()}
    if "subject" in fields:
        terms |= {("subject", str(s).casefold()) for s in record.get("subject") or []}
    return terms


class DigitalNZ(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        semantics = twin.semantics
        if semantics is None or FAMILY not in semantics.runtimes:
            raise KeyError("digitalnz: the profile maps no records family")
        self.semantics = semantics
        self.runtime = semantics.runtimes[FAMILY]
        self.fields = frozenset(self.runtime.item_view.properties)

    def install(self) -> None:
        self.semantics.seeders[FAMILY] = self._seed
        search, record = self.generic(SEARCH), self.generic(RECORD)
        if search is None or record is None:
            raise KeyError("digitalnz: the records family lacks its search or get")
        self.bind_all(
            {
                SEARCH: self._search(search),
                RECORD: self._record(record),
                MORE_LIKE_THIS: self._more_like_this,
            }
        )

    def _seed(self, tx: Transaction, runtime: FamilyRuntime) -> None:
        for record in seed_records(self.semantics.seed):
            tx.put(FAMILY, str(record["id"]), record)

    # -- fields ------------------------------------------------------------------------------

    def _chosen(self, ctx: RequestContext) -> list[str] | None:
        """The fields ``fields`` names, None for all of them; an unknown name is the
        document's FieldError."""
        text = ctx.params.get("fields")
        if not isinstance(text, str) or not text.strip():
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        if not names or any(n in ("verbose", "default") for n in names):
            return None
        for name in names:
            if name not in self.fields:
                raise reject(400, f"No field configured for Record with name {name}")
        return names

    @staticmethod
    def _only(record: Any, names: list[str] | None) -> Any:
        if names is None or not isinstance(record, dict):
            return record
        return {name: record[name] for name in names if name in record}

    # -- handlers ----------------------------------------------------------------------------

    def _search(self, generic: Handler) -> Handler:
        def search(ctx: RequestContext) -> Reply:
            names = self._chosen(ctx)
            reply = generic(ctx)
            if reply.status != 200:
                return reply
            body = orjson.loads(reply.body)
            body["records"] = [self._only(r, names) for r in body.get("records") or []]
            body["request_url"] = self._url(ctx)
            wanted = ctx.params.get("facets")
            if isinstance(wanted, list) and wanted:
                per_page = ctx.params.get("facets_per_page")
                size = per_page if isinstance(per_page, int) and per_page > 0 else 10
                body["facets"] = facets(self._matching(ctx, SEARCH), wanted, size)
            else:
                body["facets"] = {}
            return self._reply(ctx, body, reply.fresh_for)

        return search

    def _record(self, generic: Handler) -> Handler:
        def record(ctx: RequestContext) -> Reply:
            names = self._chosen(ctx)
            try:
                reply = generic(ctx)
            except Rejection as refused:
                if refused.status == 404:
                    raise self._not_found(ctx) from None
                raise
            if names is None or reply.status != 200:
                return reply
            return self._reply(ctx, self._only(orjson.loads(reply.body), names), reply.fresh_for)

        return record

    def _more_like_this(self, ctx: RequestContext) -> Reply:
        names = self._chosen(ctx)
        asked = str(ctx.params.get("mlt_fields") or "")
        fields = tuple(f for f in (n.strip() for n in asked.split(",")) if f in MLT_FIELDS)
        fields = fields or MLT_FIELDS
        self.semantics.ensure_seeded(self.runtime)
        with self.semantics.store.transaction(self.twin.name, write=False) as tx:
            record = tx.get(FAMILY, str(ctx.params.get("record_id")))
        if record is None:
            raise self._not_found(ctx)
        terms = _mlt_terms(record, fields)
        scored = [
            (len(terms & _mlt_terms(other, fields)), other)
            for other in self._matching(ctx, SEARCH)
            if other.get("id") != record.get("id")
        ]
        alike = [other for score, other in sorted(scored, key=lambda p: -p[0]) if score]
        body = {
            "page": 1,
            "per_page": MLT_PAGE,
            "records": [self._only(r, names) for r in alike[:MLT_PAGE]],
            "request_url": self._url(ctx),
            "result_count": len(alike),
        }
        return self._reply(ctx, body, math.inf)  # stored state alone

    # -- helpers -----------------------------------------------------------------------------

    def _matching(self, ctx: RequestContext, list_op: str) -> list[dict[str, Any]]:
        """Every stored record the request's bracketed filters and ``text`` keep."""
        language = self.runtime.languages.get(list_op)
        try:
            selection = language.select(ctx.parts.query) if language is not None else None
        except PagingError as refused:  # the language's FieldError, as the search gives it
            raise reject(refused.status, refused.message, code=refused.code) from None
        with self.semantics.store.transaction(self.twin.name, write=False) as tx:
            items = tx.list(FAMILY, parent="").items
        return selection.apply(items) if selection is not None else items

    @staticmethod
    def _not_found(ctx: RequestContext) -> Rejection:
        return reject(404, f"Record with ID {ctx.params.get('record_id')} was not found")

    @staticmethod
    def _url(ctx: RequestContext) -> str:
        """The request's URL as the search echoes it, without the key."""
        query = urlencode(
            [(k, v) for k, values in ctx.parts.query.items() if k != "api_key" for v in values]
        )
        path = ctx.path.split("?", 1)[0]
        return f"{ctx.origin}{path}?{query}" if query else f"{ctx.origin}{path}"

    @staticmethod
    def _reply(ctx: RequestContext, body: Any, fresh_for: float | None) -> Reply:
        status, headers, payload = ctx.operation.responder.reply_json(body)
        return Reply(status, list(headers), payload, fresh_for=fresh_for)


def install(twin: Twin) -> None:
    if twin.semantics is not None:  # a stateless twin answers from the document alone
        DigitalNZ(twin).install()
