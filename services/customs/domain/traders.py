"""The trader register (data): AEO status of national traders, and traders a partner administration certified."""

from datetime import date
from enum import StrEnum
from functools import cached_property

from pydantic import Field

from services.contract.codes import CountryCode, ShortText, TraderId
from services.customs.domain.reference import ReferenceData, ReferenceModel, Validity


class AeoProgramme(StrEnum):
    """Authorised economic operator: customs simplifications (C), security and safety (S), or both (F)."""

    AEOC = "AEOC"
    AEOS = "AEOS"
    AEOF = "AEOF"


class AeoCertificate(Validity):
    programme: AeoProgramme
    reference: str = Field(min_length=1, max_length=70, description="The AEO authorisation number")


class Trader(ReferenceModel):
    id: TraderId
    name: ShortText
    aeo: AeoCertificate | None = None


class PartnerCertification(Validity):
    """A trader certified by a partner administration's AEO programme, listed under a mutual recognition
    arrangement so that it is recognised here (e.g. a New Zealand SES exporter)."""

    partner_id: TraderId = Field(description="The identifier the partner administration issued")
    administration: CountryCode
    programme: str = Field(pattern=r"^[A-Z0-9-]{2,20}$", examples=["SES"])


class TraderRegister(ReferenceData):
    traders: tuple[Trader, ...] = ()
    partner_certified: tuple[PartnerCertification, ...] = ()

    @cached_property
    def _by_id(self) -> dict[str, Trader]:
        return {trader.id: trader for trader in self.traders}

    def aeo(self, trader_id: str | None, on: date) -> AeoCertificate | None:
        """The AEO certificate valid on that day, if the trader holds one."""
        if trader_id is None:
            return None
        trader = self._by_id.get(trader_id)
        if trader is None or trader.aeo is None or not trader.aeo.applies_on(on):
            return None
        return trader.aeo

    def partner_certification(self, partner_id: str | None, on: date) -> PartnerCertification | None:
        if partner_id is None:
            return None
        for entry in self.partner_certified:
            if entry.partner_id == partner_id and entry.applies_on(on):
                return entry
        return None
