package assistant

// Rejection codes of the medical-assistant scheme (the shared ones are in
// package domain). Each is documented in docs/domain.md.

const (
	// CodeInvalidRPPS: an RPPS number that is not 11 digits.
	CodeInvalidRPPS = "invalid_rpps"
	// CodeInvalidSector: a sector other than 1 or 2.
	CodeInvalidSector = "invalid_sector"
	// CodeUnknownBand: a patientèle band that is not below_p90, p90_p95 or p95_plus.
	CodeUnknownBand = "unknown_band"
	// CodeBaselineNotPositive: a patientèle baseline that is not positive.
	CodeBaselineNotPositive = "baseline_not_positive"
	// CodeTargetBelowBaseline: a patientèle target below the baseline.
	CodeTargetBelowBaseline = "target_below_baseline"
	// CodeOptionNotOpen: an FTE option the rulebook does not open (or only in an under-served zone).
	CodeOptionNotOpen = "option_not_open"
	// CodeSectorNotEligible: a sector the rulebook does not admit.
	CodeSectorNotEligible = "sector_not_eligible"
	// CodePracticeNotEligible: no group practice outside an under-served zone (am-2019).
	CodePracticeNotEligible = "practice_not_eligible"
	// CodeCoordinationRequired: no coordinated practice where a rulebook makes it a condition at signature (none of the embedded ones: am-2019 makes it a commitment).
	CodeCoordinationRequired = "coordination_required"
	// CodePatienteleBelowMinimum: a general practitioner under the rulebook's minimum patientèle.
	CodePatienteleBelowMinimum = "patientele_below_minimum"
	// CodeSpecialtyExcluded: a specialty the rulebook excludes.
	CodeSpecialtyExcluded = "specialty_excluded"
	// CodeBelowP30: a patientèle below the percentile the rulebook requires (am-2024: the 30th).
	CodeBelowP30 = "below_p30"
	// CodeCCAMShareTooHigh: a surgeon, ENT or gynaecologist whose CCAM fees reach the rulebook's share (am-2024: 20 %).
	CodeCCAMShareTooHigh = "ccam_fee_share_too_high"
	// CodeAlreadyHired: an assistant hired twice.
	CodeAlreadyHired = "already_hired"
	// CodeHiringAfterYear1: a hiring after the first contract year.
	CodeHiringAfterYear1 = "hiring_after_year_1"
	// CodeExtensionNotOpen: an extension on a date no rulebook in force opens one (before the 2024 convention).
	CodeExtensionNotOpen = "extension_not_open"
	// CodeExtensionTooEarly: an extension before contract year 3.
	CodeExtensionTooEarly = "extension_too_early"
	// CodeExtensionNeedsFullTime: an extension of a contract that is not for a full-time assistant, or whose assistant is not hired.
	CodeExtensionNeedsFullTime = "extension_needs_full_time"
	// CodeExtensionSpecialty: an extension for a doctor of a specialty the rulebook does not extend (general practice only).
	CodeExtensionSpecialty = "extension_specialty"
	// CodeExtensionOutsidePriorityZone: an extension for a doctor outside a priority zone.
	CodeExtensionOutsidePriorityZone = "extension_outside_priority_zone"
	// CodeExtensionObjectiveNotMet: an extension whose last reported patientèle did not meet the objective.
	CodeExtensionObjectiveNotMet = "extension_objective_not_met"
	// CodeExtensionExists: a second extension of a contract.
	CodeExtensionExists = "extension_exists"
	// CodeNotSealed: an erasure of a contract whose doctor's data were recorded in clear (no key to destroy).
	CodeNotSealed = "not_sealed"
	// CodeRetentionNotOver: an erasure before the end of the retention period, without a legal basis.
	CodeRetentionNotOver = "retention_not_over"
	// CodeEraseWithLedgerErase: ErasePersonalData sent otherwise than by ledger erase (which destroys the key).
	CodeEraseWithLedgerErase = "erase_with_ledger_erase"
	// CodePersonalKeyMissing: a command that would write a doctor's personal data while the key store does not hold their key.
	CodePersonalKeyMissing = "personal_key_missing"
	// CodePersonalDataErased: a command on a contract whose doctor's personal data were erased.
	CodePersonalDataErased = "personal_data_erased"
	// CodeNoCommitment: a coordinated practice recorded for a contract with no commitment to one.
	CodeNoCommitment = "no_commitment"
	// CodeCommitmentRecorded: a coordinated practice recorded twice.
	CodeCommitmentRecorded = "commitment_recorded"
)
