// Package cpts is the scheme of the territorial health communities (CPTS)
// under the ACI of 2019 and its amendments (docs/domain.md §2): a five-year
// contract per CPTS, a size tier from its population, missions with fixed
// and variable funding, advances and balances on a calendar, start and
// deployment deadlines, corrections and their regularisations, and the
// reference facts many contracts depend on — rulebook amendments and the
// crises an ARS recognises (ReferenceFacts, capability.go).
//
// Every figure is rulebook data (rulebooks/*.json, embedded): the amounts,
// tiers, deadlines and caps, each with its source. The code says how they
// combine: Decide (a pure function of a contract's state and a command),
// Contract.Apply (the state from its events), Forecast (a dry run of the
// decisions), and the alerts.
package cpts
