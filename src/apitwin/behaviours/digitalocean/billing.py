"""The account, its balance, billing history and invoices.

Usage is priced from the reference sizes: a droplet (or a Kubernetes node, or a database
node) costs its size's hourly price, capped at the monthly one; a volume $0.10 per GB and
month; a load balancer $12 a month. The invoice preview and the month-to-date balance are
that usage this month on the twin clock, from the resources as they are now. A seeded
account has paid invoices for the three months before the clock's; a new one (``--empty``)
has none. Invoices download as CSV and PDF."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from apitwin.behaviours.digitalocean.account import OWNER_UUID
from apitwin.behaviours.digitalocean.context import DigitalOcean, Session, download, not_found
from apitwin.behaviours.digitalocean.pdf import text_pdf
from apitwin.behaviours.digitalocean.reference import find_size
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

__all__ = ["ACCOUNT", "DROPLET_LIMIT", "Billing"]

INVOICES = "__do_invoices__"  # uuid -> a closed invoice with its items
HISTORY = "__do_billing_history__"
DROPLET_LIMIT = 25  # the account's; a Kubernetes cluster's nodes count against it
ACCOUNT = {
    "droplet_limit": DROPLET_LIMIT,
    "floating_ip_limit": 3,
    "email": "owner@example.com",
    "uuid": OWNER_UUID,
    "email_verified": True,
    "status": "active",
    "status_message": "",
    "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "My Team"},
}
_HOUR = 3600.0
_VOLUME_GB_MONTH = 0.10
_LB_MONTH = 12.0


def _month_start(moment: float) -> datetime:
    day = datetime.fromtimestamp(moment, UTC)
    return day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _shift(month: datetime, by: int) -> datetime:
    index = month.year * 12 + month.month - 1 + by
    return month.replace(year=index // 12, month=index % 12 + 1)


def _when(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _uuid_of(period: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"apitwin:digitalocean:invoice:{period}"))


def _item(
    product: str,
    description: str,
    group: str,
    amount: float,
    start: float,
    end: float,
    resource_id: str,
    project: str,
) -> dict[str, Any]:
    return {
        "product": product,
        "resource_uuid": resource_id if "-" in resource_id else "",
        "resource_id": resource_id if "-" not in resource_id else "",
        "group_description": group,
        "description": description,
        "amount": _money(amount),
        "duration": str(round((end - start) / _HOUR)),
        "duration_unit": "Hours",
        "start_time": _iso(datetime.fromtimestamp(start, UTC)),
        "end_time": _iso(datetime.fromtimestamp(end, UTC)),
        "project_name": project,
        "category": "iaas",
    }


def _hourly(size_slug: str | None, start: float, end: float) -> float:
    size = find_size(size_slug)
    if size is None or end <= start:
        return 0.0
    return min(size["price_hourly"] * (end - start) / _HOUR, size["price_monthly"])


def usage(s: Session, start: float, end: float) -> list[dict[str, Any]]:
    """What the account's resources as they are now cost between ``start`` and ``end``."""
    project = "first-project"
    out: list[dict[str, Any]] = []
    month = 30 * 24 * _HOUR

    def since(created: str) -> float:
        return max(start, _when(created))

    clusters = s.tx.list("kubernetes_clusters", parent=None).items
    # A node's droplet is billed with its cluster, under Kubernetes.
    nodes = {n["droplet_id"] for c in clusters for p in c["node_pools"] for n in p["nodes"]}
    for d in s.tx.list("droplets", parent=None).items:
        if str(d["id"]) in nodes:
            continue
        begin = since(d["created_at"])
        amount = _hourly(d.get("size_slug"), begin, end)
        description = f"{d['name']} ({d.get('size_slug')})"
        out.append(_item("Droplets", description, "", amount, begin, end, str(d["id"]), project))
    for v in s.tx.list("volumes", parent=None).items:
        begin = since(v["created_at"])
        share = (end - begin) / month if end > begin else 0.0
        amount = min(1.0, share) * v["size_gigabytes"] * _VOLUME_GB_MONTH
        description = f"{v['name']} ({v['size_gigabytes']} GiB)"
        out.append(_item("Volumes", description, "", amount, begin, end, v["id"], project))
    for lb in s.tx.list("load_balancers", parent=None).items:
        begin = since(lb["created_at"])
        amount = min(1.0, max(0.0, end - begin) / month) * _LB_MONTH
        out.append(_item("Load Balancers", lb["name"], "", amount, begin, end, lb["id"], project))
    for cluster in clusters:
        begin = since(cluster["created_at"])
        for pool in cluster["node_pools"]:
            amount = _hourly(pool["size"], begin, end) * len(pool["nodes"])
            group = f"Kubernetes cluster {cluster['name']}"
            description = f"{pool['name']} ({len(pool['nodes'])} x {pool['size']})"
            out.append(
                _item("Kubernetes", description, group, amount, begin, end, pool["id"], project)
            )
    for db in s.tx.list("databases", parent=None).items:
        begin = since(db["created_at"])
        amount = _hourly(db.get("size", "").replace("db-", "", 1), begin, end) * db["num_nodes"]
        description = f"{db['name']} ({db['engine']}, {db['num_nodes']} node(s))"
        out.append(_item("Databases", description, "", amount, begin, end, db["id"], project))
    return out


def _total(items: list[dict[str, Any]]) -> float:
    return round(sum(float(i["amount"]) for i in items), 2)


class Billing(DigitalOcean):
    def install(self) -> None:
        self.bind_all(
            {
                "account_get": self.account,
                "balance_get": self.balance,
                "billingHistory_list": self.history,
                "invoices_list": self.invoices,
                "invoices_get_byUUID": self.invoice,
                "invoices_get_csvByUUID": self.csv,
                "invoices_get_pdfByUUID": self.pdf,
                "invoices_get_summaryByUUID": self.summary,
            }
        )
        self.semantics.seeders["account"] = self._seed

    def _seed(self, tx: Transaction, runtime: Any) -> None:
        """Three paid months: two small droplets and a 100 GB volume, month after month."""
        s = self.session_in(tx)
        this_month = _month_start(s.now)
        for back in (3, 2, 1):
            start = _shift(this_month, -back)
            end = _shift(this_month, -back + 1)
            period = start.strftime("%Y-%m")
            t0, t1 = start.timestamp(), end.timestamp() - 1
            items = [
                _item("Droplets", f"web-{n} (s-1vcpu-1gb)", "", 6.0, t0, t1, str(n), "")
                for n in (1, 2)
            ]
            items.append(_item("Volumes", "data-1 (100 GiB)", "", 10.0, t0, t1, "", ""))
            ident = _uuid_of(period)
            total = _total(items)
            invoice = {
                "invoice_uuid": ident,
                "invoice_id": str(6_173_000 + back),
                "invoice_period": period,
                "amount": _money(total),
                "updated_at": _iso(end),
                "items": items,
            }
            s.tx.put(INVOICES, ident, invoice)
            label = start.strftime("%B %Y")
            s.tx.put(
                HISTORY,
                f"{period}-a",
                {
                    "description": f"Invoice for {label}",
                    "amount": _money(total),
                    "invoice_id": invoice["invoice_id"],
                    "invoice_uuid": ident,
                    "date": _iso(end),
                    "type": "Invoice",
                },
            )
            s.tx.put(
                HISTORY,
                f"{period}-b",
                {
                    "description": "Payment (MC 4242)",
                    "amount": _money(-total),
                    "date": _iso(end.replace(day=2)),
                    "type": "Payment",
                },
            )

    # -- account ----------------------------------------------------------------------------

    def account(self, ctx: RequestContext) -> Reply:
        return self.reply(ctx, {"account": dict(ACCOUNT)})

    def _preview(self, s: Session) -> dict[str, Any]:
        start = _month_start(s.now)
        items = usage(s, start.timestamp(), s.now)
        period = start.strftime("%Y-%m")
        return {
            "invoice_uuid": _uuid_of(period),
            "invoice_period": period,
            "amount": _money(_total(items)),
            "updated_at": s.stamp,
            "items": items,
        }

    def balance(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            preview = self._preview(s)
        return self.reply(
            ctx,
            {
                "month_to_date_balance": preview["amount"],
                "account_balance": "0.00",
                "month_to_date_usage": preview["amount"],
                "generated_at": preview["updated_at"],
            },
        )

    def history(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            items = s.tx.list(HISTORY, parent=None).items
        return self.page(ctx, "billing_history", items)

    @staticmethod
    def _short(invoice: dict[str, Any]) -> dict[str, Any]:
        return {k: invoice[k] for k in ("invoice_uuid", "amount", "invoice_period", "updated_at")}

    def invoices(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            closed = list(reversed(s.tx.list(INVOICES, parent=None).items))
            preview = self._preview(s)
        return self.page(
            ctx,
            "invoices",
            [self._short(i) for i in closed],
            {"invoice_preview": self._short(preview)},
        )

    def _load(self, s: Session, ctx: RequestContext) -> dict[str, Any]:
        wanted = str(ctx.params.get("invoice_uuid"))
        invoice = s.tx.get(INVOICES, wanted)
        if invoice is not None:
            return invoice
        preview = self._preview(s)
        if wanted in (preview["invoice_uuid"], "preview"):
            return preview
        raise not_found()

    def invoice(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            invoice = self._load(s, ctx)
        return self.page(ctx, "invoice_items", invoice["items"])

    @staticmethod
    def _filename(invoice: dict[str, Any], extension: str) -> str:
        month = datetime.strptime(invoice["invoice_period"], "%Y-%m").strftime("%Y %b")
        number = invoice.get("invoice_id", "preview")
        return f"DigitalOcean Invoice {month} ({number}).{extension}"

    def csv(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            invoice = self._load(s, ctx)
        lines = ["product,group_description,description,hours,start,end,USD,project_name,category"]
        for item in invoice["items"]:
            cells = [
                item["product"],
                item["group_description"],
                item["description"],
                item["duration"],
                _csv_time(item["start_time"]),
                _csv_time(item["end_time"]),
                f"${item['amount']}",
                item["project_name"],
                item["category"],
            ]
            lines.append(",".join(_csv_cell(c) for c in cells))
        text = "\n".join(lines) + "\n"
        return download(ctx, text.encode(), "text/csv", self._filename(invoice, "csv"))

    def pdf(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            invoice = self._load(s, ctx)
        month = datetime.strptime(invoice["invoice_period"], "%Y-%m").strftime("%B %Y")
        lines = [
            "DigitalOcean",
            f"Invoice for {month}",
            f"Invoice number: {invoice.get('invoice_id', 'preview')}",
            f"Account: {ACCOUNT['email']}",
            "",
            *(f"{i['product']}: {i['description']}  ${i['amount']}" for i in invoice["items"]),
            "",
            f"Total due: ${invoice['amount']}",
        ]
        body = text_pdf(lines, title=f"DigitalOcean Invoice {month}")
        return download(ctx, body, "application/pdf", self._filename(invoice, "pdf"))

    def summary(self, ctx: RequestContext) -> Reply:
        with self.session() as s:
            invoice = self._load(s, ctx)
        products: dict[str, list[float]] = {}
        for item in invoice["items"]:
            products.setdefault(item["product"], []).append(float(item["amount"]))
        return self.reply(
            ctx,
            {
                "invoice_uuid": invoice["invoice_uuid"],
                "billing_period": invoice["invoice_period"],
                "amount": invoice["amount"],
                "user_name": "Sammy Shark",
                "user_company": "",
                "user_email": ACCOUNT["email"],
                "user_billing_address": {
                    "address_line1": "101 Shark Row",
                    "address_line2": "",
                    "city": "New York",
                    "region": "NY",
                    "postal_code": "10001",
                    "country_iso2_code": "US",
                    "created_at": "2019-09-03T16:34:46.000+00:00",
                    "updated_at": "2019-09-03T16:34:46.000+00:00",
                },
                "product_charges": {
                    "name": "Product usage charges",
                    "amount": invoice["amount"],
                    "items": [
                        {"name": name, "amount": _money(sum(v)), "count": str(len(v))}
                        for name, v in products.items()
                    ],
                },
                "overages": {"name": "Overages", "amount": "0"},
                "taxes": {"name": "Taxes", "amount": "0"},
                "credits_and_adjustments": {"name": "Credits & adjustments", "amount": "0"},
            },
        )


def _csv_time(value: str) -> str:
    return value.replace("T", " ").replace("Z", " +0000")


def _csv_cell(value: str) -> str:
    if any(c in value for c in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
