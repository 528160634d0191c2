"""Watch lists (data): parties a risk rule can single out, by identifier or by name."""

from functools import cached_property

from pydantic import Field

from services.contract.codes import ShortText, TraderId
from services.customs.domain.reference import ReferenceData, ReferenceModel


class WatchList(ReferenceModel):
    """Parties to look at closer: by identifier, or by name where a party has none (foreign exporters)."""

    name: str = Field(pattern=r"^[a-z0-9-]{2,40}$")
    reason: ShortText
    trader_ids: tuple[TraderId, ...] = ()
    names: tuple[ShortText, ...] = ()


class WatchLists(ReferenceData):
    lists: tuple[WatchList, ...] = ()

    @cached_property
    def _entries(self) -> dict[str, frozenset[str]]:
        entries: dict[str, set[str]] = {}
        for watch_list in self.lists:
            for key in (*watch_list.trader_ids, *(f"name:{normalised_name(name)}" for name in watch_list.names)):
                entries.setdefault(key, set()).add(watch_list.name)
        return {key: frozenset(names) for key, names in entries.items()}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(watch_list.name for watch_list in self.lists)

    def listing(self, ids: set[str], names: set[str]) -> frozenset[str]:
        """Names of the lists on which any of these party identifiers or names (compared normalised) appear."""
        keys = [*ids, *(f"name:{normalised_name(name)}" for name in names)]
        return frozenset().union(*(self._entries.get(key, frozenset()) for key in keys))


def normalised_name(name: str) -> str:
    return " ".join(name.casefold().split())
