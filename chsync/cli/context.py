"""The global options, resolved: which table specs, which customers, and the source and sink opened on
first use (and closed at the end)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from ..errors import BadInput
from ..spec import load_specs, pick
from ..spec.model import TableSpec
from ..spec.params import parse_cli

if TYPE_CHECKING:
    from ..sink.base import ClickHouseSink
    from ..source.postgres import PostgresSource


class Context:
    def __init__(self, source: str | None, sink: str | None, customer: str | None, config: str | None,
                 all_customers: bool = False, table: str | None = None, params: tuple[str, ...] = ()) -> None:
        names = [c.strip() for c in customer.split(",") if c.strip()] if customer else []
        self.customer = names[0] if len(names) == 1 else None
        self.customer_list = names if len(names) > 1 else None
        self.all_customers = all_customers
        self.source_dsn, self.sink_url, self.config = source, sink, config
        self.table, self.params = table, params
        self._specs: list[TableSpec] | None = None
        self._source: Any = None
        self._sink: Any = None
        # (spec, its JSON document or None, its exit code) of each target the command ran (for metrics)
        self.results: list[tuple[TableSpec, dict | None, int]] = []

    # -- specs ---------------------------------------------------------------------------------
    def use_config(self, path: str) -> None:
        """A --config given after the command name."""
        self.config, self._specs = path, None

    @property
    def specs(self) -> list[TableSpec]:
        """The chosen tables, with --param and --customer applied."""
        if self._specs is None:
            specs = pick(load_specs(self.config), self.table)
            resolved = []
            for spec in specs:
                spec = spec.with_params(parse_cli(self.params, spec.params))
                if self.customer:
                    spec = spec.with_customer(self.customer)
                resolved.append(spec)
            if (self.customer or self.customer_list or self.all_customers) and \
                    any(s.customer is None for s in resolved):
                raise BadInput(f"{resolved[0].origin} has no customer parameter: drop --customer/--all-customers")
            self._specs = resolved
        return self._specs

    @property
    def spec(self) -> TableSpec:
        """The one table a command works on."""
        specs = self.specs
        if len(specs) > 1:
            raise BadInput(f"the config declares several tables ({', '.join(s.name for s in specs)}): pick one "
                           "with --table NAME")
        return specs[0]

    def many(self) -> bool:
        """Whether the command runs once per (table, customer) with a summary row each."""
        return bool(self.customer_list or self.all_customers or len(self.specs) > 1)

    def targets(self) -> list[TableSpec]:
        from ..apply.fanout import targets
        if self.all_customers:
            if self.customer or self.customer_list:
                raise BadInput("give either --customer or --all-customers, not both")
            from ..source import open_source
            with contextlib.closing(open_source(self.source_dsn, self.specs[0])) as lister:
                customers: list[str] | None = lister.customers()
        else:
            customers = self.customer_list
        return targets(self.specs, customers)

    # -- databases -----------------------------------------------------------------------------
    @property
    def source(self) -> PostgresSource:
        """The Postgres source of the one table, with the customer and the spec checked against it."""
        if self._source is None:
            from ..source import open_source
            self._source = open_source(self.source_dsn, self.spec)
        return self._source

    def writable(self, specs: list[TableSpec] | None = None) -> None:
        """Before a command that replaces partitions: refuse a spec whose sink table other customers would
        share."""
        for spec in specs or self.specs:
            if spec.unsafe_for_swaps:
                raise BadInput(spec.unsafe_for_swaps)

    def checked_source(self) -> PostgresSource:
        """The source, its customer and the spec checked against it (once: the api does not check it again)."""
        from ..api import check_source
        return check_source(self.source)

    @property
    def sink(self) -> ClickHouseSink:
        if self._sink is None:
            from ..sink import open_sink
            self._sink = open_sink(self.sink_url, self.spec)
        return self._sink

    def close(self) -> None:
        for thing in (self._source, self._sink):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
