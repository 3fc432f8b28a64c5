"""Three-letter codes allowed in the MRZ issuing-state and nationality fields (ICAO 9303 Part 3).

ISO 3166-1 alpha-3 codes plus the codes ICAO adds (Germany's one-letter "D", the British nationality classes,
the United Nations, refugees and stateless persons, EU laissez-passer, Kosovo). ``UTO`` (Utopia) is the
fictional state of ICAO's specimen documents: it parses, and the decision refuses it as a specimen.
"""

from __future__ import annotations

from typing import Final

_ISO_3166_ALPHA3: Final = """
AFG ALA ALB DZA ASM AND AGO AIA ATA ATG ARG ARM ABW AUS AUT AZE BHS BHR BGD BRB BLR BEL BLZ BEN BMU BTN BOL BES
BIH BWA BVT BRA IOT BRN BGR BFA BDI CPV KHM CMR CAN CYM CAF TCD CHL CHN CXR CCK COL COM COG COD COK CRI CIV HRV
CUB CUW CYP CZE DNK DJI DMA DOM ECU EGY SLV GNQ ERI EST SWZ ETH FLK FRO FJI FIN FRA GUF PYF ATF GAB GMB GEO DEU
GHA GIB GRC GRL GRD GLP GUM GTM GGY GIN GNB GUY HTI HMD VAT HND HKG HUN ISL IND IDN IRN IRQ IRL IMN ISR ITA JAM
JPN JEY JOR KAZ KEN KIR PRK KOR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU LUX MAC MDG MWI MYS MDV MLI MLT MHL MTQ
MRT MUS MYT MEX FSM MDA MCO MNG MNE MSR MAR MOZ MMR NAM NRU NPL NLD NCL NZL NIC NER NGA NIU NFK MKD MNP NOR OMN
PAK PLW PSE PAN PNG PRY PER PHL PCN POL PRT PRI QAT REU ROU RUS RWA BLM SHN KNA LCA MAF SPM VCT WSM SMR STP SAU
SEN SRB SYC SLE SGP SXM SVK SVN SLB SOM ZAF SGS SSD ESP LKA SDN SUR SJM SWE CHE SYR TWN TJK TZA THA TLS TGO TKL
TON TTO TUN TUR TKM TCA TUV UGA UKR ARE GBR USA UMI URY UZB VUT VEN VNM VGB VIR WLF ESH YEM ZMB ZWE
"""

_ICAO_EXTRA: Final = """
D GBD GBN GBO GBP GBS UNO UNA UNK XBA XIM XCC XCE XCO XEC XPO XES XMP XOM XDC XXA XXB XXC XXX EUE RKS
"""

SPECIMEN_STATES: Final = frozenset({"UTO"})

MRZ_STATE_CODES: Final = frozenset(_ISO_3166_ALPHA3.split()) | frozenset(_ICAO_EXTRA.split()) | SPECIMEN_STATES


def is_known_state(code: str) -> bool:
    """True for an issuing-state or nationality code with its ``<`` fillers removed (``"D<<"`` -> ``"D"``)."""
    return code in MRZ_STATE_CODES
