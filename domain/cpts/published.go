package cpts

import "github.com/cptsledger/ledger/domain"

// Published is a published count of CPTS with a signed ACI contract, with
// its source (domain.md, "Published volumes"): reference marks for what the
// ledger holds, not rules.
type Published struct {
	On     domain.Date
	Count  int
	Source string
}

// PublishedVolumes are the counts published so far.
func PublishedVolumes() []Published {
	return []Published{
		{domain.MustDate("2022-01-31"), 134, "Assurance Maladie, January 2022"},
		{domain.MustDate("2022-04-30"), 173, "Assurance Maladie, early 2022"},
		{domain.MustDate("2025-05-31"), 700, "Assurance Maladie, May 2025 (about 700)"},
	}
}

// PublishedAmount is the amount paid to CPTS nationally in a calendar year,
// as published (domain.md section 4).
type PublishedAmount struct {
	Year   int
	Amount domain.Money
}

// PublishedAmounts are the national amounts published so far: 105.8 M€
// (2022), 121 M€ (2023), 170 M€ (2024).
func PublishedAmounts() []PublishedAmount {
	return []PublishedAmount{
		{2022, domain.MustMoney("105800000")},
		{2023, domain.MustMoney("121000000")},
		{2024, domain.MustMoney("170000000")},
	}
}
