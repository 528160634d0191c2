"""Request examples shown in the OpenAPI document, and written to examples/ for the README's commands.

`python -m services.gateway.entrypoints.examples` rewrites examples/*.json and *.xml; `--check` fails when they differ.
"""

import argparse
import json
from pathlib import Path
from typing import Any

from services.contract.schema_export import write_or_check

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

DECLARATION_EXAMPLE: dict[str, Any] = {
    "lrn": "LRN-2026-ROSES-0001",
    "type": "IM",
    "declarant": {"id": "GB123456789000"},
    "importer": {"id": "GB123456789000"},
    "exporter": {
        "name": "Bloemen Export BV",
        "address": {"line": "Legmeerdijk 313", "city": "Aalsmeer", "postcode": "1431 GB", "country_code": "NL"},
    },
    "authorisations": [{"holder_id": "GB123456789000", "category_code": "DPO"}],
    "export_country": "NL",
    "point_of_entry": "GBDVR",
    "goods_items": [
        {
            "sequence": 1,
            "commodity_code": "06031100",
            "description": "Fresh cut roses",
            "origin_country": "NL",
            "quantity": {"value": "1200", "unit": "KGM"},
            "value": {"value": "8400.00", "currency": "EUR"},
            "documents": [{"category_code": "N", "type_code": "851", "id": "NL-2026-000123"}],
        }
    ],
}

# The roses declaration amended before release: 1,150 kg of roses were shipped, not 1,200.
AMENDMENT_EXAMPLE: dict[str, Any] = {
    **DECLARATION_EXAMPLE,
    "function_code": "4",
    "goods_items": [
        {
            **DECLARATION_EXAMPLE["goods_items"][0],
            "quantity": {"value": "1150", "unit": "KGM"},
            "value": {"value": "8050.00", "currency": "EUR"},
        }
    ],
}

# After release, a post-clearance correction of the amended roses: the freight (400 EUR) was left out of the value.
CORRECTION_EXAMPLE: dict[str, Any] = {
    "reason": "Freight of 400.00 EUR was left out of the customs value",
    "declaration": {
        **AMENDMENT_EXAMPLE,
        "goods_items": [
            {**AMENDMENT_EXAMPLE["goods_items"][0], "value": {"value": "8450.00", "currency": "EUR"}},
        ],
    },
}

CERTIFICATE_EXAMPLE: dict[str, Any] = {
    "number": "NL-2026-000123",
    "type": "851",
    "status": "70",
    "issuing_country": "NL",
    "importing_country": "GB",
    "issued_at": "2026-11-20T09:30:00+01:00",
    "consignor": {"name": "Bloemen Export BV"},
    "consignee": {"name": "Roses Import Ltd"},
    "point_of_entry": "GBDVR",
    "line_items": [
        {
            "sequence": 1,
            "scientific_name": "Rosa",
            "description": "Cut flowers of roses",
            "commodity_code": "060311",
            "origin_countries": ["NL"],
            "net_quantity": {"value": "1200", "unit": "KGM"},
        }
    ],
}


# The same kind of declaration in WCO Data Model XML (DEC-DMS), a second consignment of roses.
DECLARATION_XML_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<md:MetaData xmlns:md="urn:wco:datamodel:WCO:DocumentMetaData-DMS:2" xmlns="urn:wco:datamodel:WCO:DEC-DMS:2">
  <md:WCODataModelVersionCode>3.6</md:WCODataModelVersionCode>
  <md:WCOTypeName>DEC</md:WCOTypeName>
  <Declaration>
    <!-- an original, standard pre-lodged import -->
    <FunctionCode>9</FunctionCode>
    <FunctionalReferenceID>LRN-2026-ROSES-0002</FunctionalReferenceID>
    <TypeCode>IMD</TypeCode>
    <GoodsItemQuantity>1</GoodsItemQuantity>
    <TotalPackageQuantity>120</TotalPackageQuantity>
    <AuthorisationHolder><ID>GB123456789000</ID><CategoryCode>AEOC</CategoryCode></AuthorisationHolder>
    <AuthorisationHolder><ID>GB123456789000</ID><CategoryCode>DPO</CategoryCode></AuthorisationHolder>
    <BorderTransportMeans>
      <RegistrationNationalityCode>NL</RegistrationNationalityCode><ModeCode>3</ModeCode>
    </BorderTransportMeans>
    <Declarant><ID>GB123456789000</ID></Declarant>
    <Exporter>
      <Name>Bloemen Export BV</Name>
      <Address>
        <CityName>Aalsmeer</CityName><CountryCode>NL</CountryCode>
        <Line>Legmeerdijk 313</Line><PostcodeID>1431 GB</PostcodeID>
      </Address>
    </Exporter>
    <GoodsShipment>
      <Consignment>
        <ContainerCode>0</ContainerCode>
        <ArrivalTransportMeans><ID>AB12CDE</ID><IdentificationTypeCode>30</IdentificationTypeCode></ArrivalTransportMeans>
        <GoodsLocation>
          <Name>DVRDVRDVR</Name><TypeCode>A</TypeCode>
          <Address><TypeCode>U</TypeCode><CountryCode>GB</CountryCode></Address>
        </GoodsLocation>
      </Consignment>
      <Destination><CountryCode>GB</CountryCode></Destination>
      <ExportCountry><ID>NL</ID></ExportCountry>
      <GovernmentAgencyGoodsItem>
        <SequenceNumeric>1</SequenceNumeric>
        <AdditionalDocument>
          <CategoryCode>N</CategoryCode><ID>NL-2026-000123</ID><TypeCode>851</TypeCode>
          <LPCOExemptionCode>AE</LPCOExemptionCode>
        </AdditionalDocument>
        <Commodity>
          <Description>Fresh cut
            roses</Description>
          <Classification><ID>06031100</ID><IdentificationTypeCode>TSP</IdentificationTypeCode></Classification>
          <Classification><ID>00</ID><IdentificationTypeCode>TRC</IdentificationTypeCode></Classification>
          <DutyTaxFee><DutyRegimeCode>100</DutyRegimeCode><Payment><MethodCode>E</MethodCode></Payment></DutyTaxFee>
          <GoodsMeasure>
            <GrossMassMeasure unitCode="KGM">1250</GrossMassMeasure>
            <NetNetWeightMeasure unitCode="KGM">1200</NetNetWeightMeasure>
          </GoodsMeasure>
          <InvoiceLine><ItemChargeAmount currencyID="EUR">8400.00</ItemChargeAmount></InvoiceLine>
        </Commodity>
        <CustomsValuation><MethodCode>1</MethodCode></CustomsValuation>
        <GovernmentProcedure><CurrentCode>40</CurrentCode><PreviousCode>00</PreviousCode></GovernmentProcedure>
        <GovernmentProcedure><CurrentCode>000</CurrentCode></GovernmentProcedure>
        <Origin><CountryCode>NL</CountryCode><TypeCode>1</TypeCode></Origin>
        <Packaging>
          <SequenceNumeric>1</SequenceNumeric><MarksNumbersID>ROSES 1-120</MarksNumbersID>
          <QuantityQuantity>120</QuantityQuantity><TypeCode>BX</TypeCode>
        </Packaging>
      </GovernmentAgencyGoodsItem>
      <Importer><ID>GB123456789000</ID></Importer>
      <PreviousDocument><CategoryCode>Z</CategoryCode><ID>6GB123456789000-ROSES1</ID><TypeCode>DCR</TypeCode></PreviousDocument>
      <TradeTerms><ConditionCode>DAP</ConditionCode><LocationID>GBDVR</LocationID></TradeTerms>
    </GoodsShipment>
  </Declaration>
</md:MetaData>
"""

# That declaration amended before release: function code 4, 1,150 kg shipped, not 1,200.
AMENDMENT_XML_EXAMPLE = (
    DECLARATION_XML_EXAMPLE.replace("<!-- an original, standard pre-lodged import -->", "<!-- an amendment -->")
    .replace("<FunctionCode>9</FunctionCode>", "<FunctionCode>4</FunctionCode>")
    .replace(">1200</NetNetWeightMeasure>", ">1150</NetNetWeightMeasure>")
    .replace(">8400.00</ItemChargeAmount>", ">8050.00</ItemChargeAmount>")
)

# A certificate as UN/CEFACT SPS XML, the form NPPOs and the ePhyto Hub deliver.
CERTIFICATE_XML_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:17"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
    xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21">
  <!-- the certificate of a second consignment of roses, as the exporting NPPO issues it -->
  <rsm:SPSExchangedDocument>
    <ram:Name>Phytosanitary Certificate</ram:Name>
    <ram:ID>NL-2026-000124</ram:ID>
    <ram:TypeCode>851</ram:TypeCode>
    <ram:StatusCode>70</ram:StatusCode>
    <ram:IssueDateTime><udt:DateTimeString>2026-11-21T10:15:00+01:00</udt:DateTimeString></ram:IssueDateTime>
    <ram:IssuerSPSParty><ram:Name>Netherlands Food and Consumer Product Safety Authority</ram:Name></ram:IssuerSPSParty>
  </rsm:SPSExchangedDocument>
  <rsm:SPSConsignment>
    <ram:ConsignorSPSParty><ram:Name>Bloemen Export BV</ram:Name></ram:ConsignorSPSParty>
    <ram:ConsigneeSPSParty><ram:Name>Roses Import Ltd</ram:Name></ram:ConsigneeSPSParty>
    <ram:ExportSPSCountry><ram:ID>NL</ram:ID></ram:ExportSPSCountry>
    <ram:ImportSPSCountry><ram:ID>GB</ram:ID></ram:ImportSPSCountry>
    <ram:UnloadingBaseportSPSLocation><ram:ID>GBDVR</ram:ID></ram:UnloadingBaseportSPSLocation>
    <ram:IncludedSPSConsignmentItem>
      <ram:IncludedSPSTradeLineItem>
        <ram:SequenceNumeric>1</ram:SequenceNumeric>
        <ram:Description>Cut flowers of roses</ram:Description>
        <ram:ScientificName>Rosa</ram:ScientificName>
        <ram:NetWeightMeasure unitCode="KGM">1200</ram:NetWeightMeasure>
        <ram:ApplicableSPSClassification>
          <ram:SystemName>HS</ram:SystemName><ram:ClassCode>060311</ram:ClassCode>
        </ram:ApplicableSPSClassification>
        <ram:OriginSPSCountry><ram:ID>NL</ram:ID></ram:OriginSPSCountry>
      </ram:IncludedSPSTradeLineItem>
    </ram:IncludedSPSConsignmentItem>
  </rsm:SPSConsignment>
</rsm:SPSCertificate>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when examples/ is out of date")
    files = {
        EXAMPLES / f"{name}.json": json.dumps(example, indent=2) + "\n"
        for name, example in (
            ("declaration", DECLARATION_EXAMPLE),
            ("amendment", AMENDMENT_EXAMPLE),
            ("certificate", CERTIFICATE_EXAMPLE),
        )
    }
    files[EXAMPLES / "declaration.xml"] = DECLARATION_XML_EXAMPLE
    files[EXAMPLES / "certificate.xml"] = CERTIFICATE_XML_EXAMPLE
    write_or_check(files, check=parser.parse_args().check, regenerate="python -m services.gateway.entrypoints.examples")


if __name__ == "__main__":
    main()
