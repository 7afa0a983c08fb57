package document

import "strings"

// stateCodes are the three-letter codes an MRZ may name as issuing state
// or nationality: ISO 3166-1 alpha-3 and ICAO 9303's own (D for Germany,
// the British categories, the United Nations, the stateless and refugees,
// the EU, the specimen state Utopia), padded with '<' to three.
var stateCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA BGD BGR BHR BHS
BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV
CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM
GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN
IND IOT IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE
LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS
MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK
PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR
SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY
USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
D GBD GBN GBO GBP GBS UNO UNA UNK XXA XXB XXC XXX EUE RKS XOM XPO XCC XES XMP XBA XIM XCE UTO`) {
		m[pad(c, 3)] = true
	}
	return m
}()

// codeLookalikes are the letters Tesseract's English model reads in place
// of others in OCR-B, both ways.
var codeLookalikes = map[byte]string{
	'J': "IU3S", 'I': "J1L", 'U': "J0", 'O': "0DQ", 'D': "0O", 'S': "5J", 'B': "8", 'G': "6", 'Z': "2",
	'L': "I1", 'E': "F", 'F': "E", 'Q': "O0",
}

// fixStateCode returns the listed code the read one is most likely: itself
// when listed, else the single listed code one lookalike away.
func fixStateCode(read string) (string, bool) {
	if stateCodes[read] {
		return read, true
	}
	found := ""
	for i := 0; i < len(read); i++ {
		for c, like := range codeLookalikes {
			if !strings.ContainsRune(like, rune(read[i])) {
				continue
			}
			cand := read[:i] + string(c) + read[i+1:]
			if stateCodes[cand] && cand != found {
				if found != "" {
					return read, false // ambiguous
				}
				found = cand
			}
		}
	}
	return found, found != ""
}

// KnownStateCode reports whether an MRZ's issuing state or nationality (as
// printed, three characters with '<' fillers) is a listed code.
func KnownStateCode(code string) bool { return stateCodes[code] }
