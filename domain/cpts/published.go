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
