"""ISO 3166-1 countries and the other names people type for them, for the `country` transform.

Data only: alpha-2, alpha-3 and the common English short name (the form a person reads in a CRM;
"United States" rather than "United States of America"), then aliases. No dependency: the table
changes a few times a decade.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple


class Country(NamedTuple):
    alpha2: str
    alpha3: str
    name: str


_TABLE = """
AD AND Andorra
AE ARE United Arab Emirates
AF AFG Afghanistan
AG ATG Antigua and Barbuda
AI AIA Anguilla
AL ALB Albania
AM ARM Armenia
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina
AS ASM American Samoa
AT AUT Austria
AU AUS Australia
AW ABW Aruba
AX ALA Åland Islands
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium
BF BFA Burkina Faso
BG BGR Bulgaria
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy
BM BMU Bermuda
BN BRN Brunei
BO BOL Bolivia
BQ BES Caribbean Netherlands
BR BRA Brazil
BS BHS Bahamas
BT BTN Bhutan
BV BVT Bouvet Island
BW BWA Botswana
BY BLR Belarus
BZ BLZ Belize
CA CAN Canada
CC CCK Cocos (Keeling) Islands
CD COD Democratic Republic of the Congo
CF CAF Central African Republic
CG COG Republic of the Congo
CH CHE Switzerland
CI CIV Côte d'Ivoire
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cape Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus
CZ CZE Czechia
DE DEU Germany
DJ DJI Djibouti
DK DNK Denmark
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain
ET ETH Ethiopia
FI FIN Finland
FJ FJI Fiji
FK FLK Falkland Islands
FM FSM Micronesia
FO FRO Faroe Islands
FR FRA France
GA GAB Gabon
GB GBR United Kingdom
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece
GS SGS South Georgia and the South Sandwich Islands
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong
HM HMD Heard Island and McDonald Islands
HN HND Honduras
HR HRV Croatia
HT HTI Haiti
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland
IL ISR Israel
IM IMN Isle of Man
IN IND India
IO IOT British Indian Ocean Territory
IQ IRQ Iraq
IR IRN Iran
IS ISL Iceland
IT ITA Italy
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK North Korea
KR KOR South Korea
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Laos
LB LBN Lebanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
LY LBY Libya
MA MAR Morocco
MC MCO Monaco
MD MDA Moldova
ME MNE Montenegro
MF MAF Saint Martin
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia
ML MLI Mali
MM MMR Myanmar
MN MNG Mongolia
MO MAC Macao
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives
MW MWI Malawi
MX MEX Mexico
MY MYS Malaysia
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands
NO NOR Norway
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines
PK PAK Pakistan
PL POL Poland
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn Islands
PR PRI Puerto Rico
PS PSE Palestine
PT PRT Portugal
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion
RO ROU Romania
RS SRB Serbia
RU RUS Russia
RW RWA Rwanda
SA SAU Saudi Arabia
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden
SG SGP Singapore
SH SHN Saint Helena, Ascension and Tristan da Cunha
SI SVN Slovenia
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP São Tomé and Príncipe
SV SLV El Salvador
SX SXM Sint Maarten
SY SYR Syria
SZ SWZ Eswatini
TC TCA Turks and Caicos Islands
TD TCD Chad
TF ATF French Southern Territories
TG TGO Togo
TH THA Thailand
TJ TJK Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste
TM TKM Turkmenistan
TN TUN Tunisia
TO TON Tonga
TR TUR Turkey
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan
TZ TZA Tanzania
UA UKR Ukraine
UG UGA Uganda
UM UMI United States Minor Outlying Islands
US USA United States
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Vatican City
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela
VG VGB British Virgin Islands
VI VIR U.S. Virgin Islands
VN VNM Vietnam
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
YE YEM Yemen
YT MYT Mayotte
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe
"""

# Official ISO names where they differ from the common name, older names, and abbreviations.
_ALIASES = {
    "US": [
        "United States of America",
        "U.S.A.",
        "U.S.",
        "America",
        "United States (US)",
    ],
    "GB": [
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "United Kingdom of Great Britain and Northern Ireland",
    ],
    "AE": ["UAE", "U.A.E."],
    "BO": ["Bolivia, Plurinational State of", "Plurinational State of Bolivia"],
    "BN": ["Brunei Darussalam"],
    "BS": ["The Bahamas", "Bahamas, The"],
    "CD": ["Congo, The Democratic Republic of the", "DRC", "DR Congo", "Congo-Kinshasa"],
    "CG": ["Congo", "Congo-Brazzaville"],
    "CI": ["Ivory Coast", "Cote d'Ivoire"],
    "CV": ["Cabo Verde"],
    "CZ": ["Czech Republic"],
    "FK": ["Falkland Islands (Malvinas)"],
    "FM": ["Micronesia, Federated States of", "Federated States of Micronesia"],
    "GM": ["The Gambia", "Gambia, The"],
    "HK": ["Hong Kong SAR", "Hong Kong SAR China"],
    "IR": ["Iran, Islamic Republic of", "Islamic Republic of Iran"],
    "KP": ["Korea, Democratic People's Republic of", "Democratic People's Republic of Korea"],
    "KR": ["Korea, Republic of", "Republic of Korea", "Korea"],
    "LA": ["Lao People's Democratic Republic", "Lao PDR"],
    "MD": ["Moldova, Republic of", "Republic of Moldova"],
    "MF": ["Saint Martin (French part)"],
    "MK": ["Macedonia", "Republic of North Macedonia"],
    "MM": ["Burma"],
    "MO": ["Macau", "Macao SAR China"],
    "NL": ["Holland", "The Netherlands", "Netherlands, Kingdom of the"],
    "PS": ["Palestine, State of", "State of Palestine"],
    "RU": ["Russian Federation"],
    "SX": ["Sint Maarten (Dutch part)"],
    "SY": ["Syrian Arab Republic"],
    "SZ": ["Swaziland"],
    "TL": ["East Timor"],
    "TR": ["Türkiye", "Turkiye"],
    "TW": ["Taiwan, Province of China", "Republic of China"],
    "TZ": ["Tanzania, United Republic of", "United Republic of Tanzania"],
    "VA": ["Holy See", "Vatican", "Holy See (Vatican City State)"],
    "VE": ["Venezuela, Bolivarian Republic of", "Bolivarian Republic of Venezuela"],
    "VG": ["Virgin Islands, British"],
    "VI": ["Virgin Islands, U.S.", "US Virgin Islands"],
    "VN": ["Viet Nam"],
}

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def country_key(text: str) -> str:
    """Case, accents, punctuation and a leading "the" do not distinguish countries."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    key = _NOT_WORD.sub(" ", ascii_text.casefold()).strip()
    return key.removeprefix("the ")


def _build() -> tuple[dict[str, Country], dict[str, Country]]:
    codes: dict[str, Country] = {}
    names: dict[str, Country] = {}
    for line in _TABLE.strip().splitlines():
        alpha2, alpha3, name = line.split(" ", 2)
        country = Country(alpha2, alpha3, name)
        codes[alpha2] = codes[alpha3] = country
        names[country_key(name)] = country
    for alpha2, aliases in _ALIASES.items():
        for alias in aliases:
            names[country_key(alias)] = codes[alpha2]
    return codes, names


_BY_CODE, _BY_NAME = _build()


def country_lookup(text: str) -> Country | None:
    """The country `text` names: an ISO alpha-2 or alpha-3 code, a name, or a common alias."""
    stripped = text.strip()
    compact = stripped.replace(".", "").upper()
    if len(compact) in (2, 3) and compact.isalpha() and compact in _BY_CODE:
        return _BY_CODE[compact]
    return _BY_NAME.get(country_key(stripped))
