package cpts

// Rejection codes of the CPTS scheme (the shared ones are in package
// domain). Each is documented in docs/domain.md.

const (
	// CodePopulationNotPositive: a population that is not a positive whole number.
	CodePopulationNotPositive = "population_not_positive"
	// CodeUnknownMission: a mission the rulebook or the contract does not have.
	CodeUnknownMission = "unknown_mission"
	// CodeDuplicateMission: a mission listed twice.
	CodeDuplicateMission = "duplicate_mission"
	// CodeCoreMissionMissing: a core mission missing from the contract.
	CodeCoreMissionMissing = "core_mission_missing"
	// CodeIndicatorUnknownMission: an indicator of a mission the contract does not have.
	CodeIndicatorUnknownMission = "indicator_unknown_mission"
	// CodeDuplicateIndicator: an indicator listed twice.
	CodeDuplicateIndicator = "duplicate_indicator"
	// CodeWeightOutOfRange: a weight outside (0, 1].
	CodeWeightOutOfRange = "weight_out_of_range"
	// CodeTargetNotPositive: a target that is not above 0.
	CodeTargetNotPositive = "target_not_positive"
	// CodeMissionWithoutIndicator: a mission of the contract with no indicator.
	CodeMissionWithoutIndicator = "mission_without_indicator"
	// CodeWeightsNotOne: the weights of a mission do not sum to exactly 1.
	CodeWeightsNotOne = "weights_not_one"
	// CodeYearClosed: a fact dated in a year whose report or balance is recorded.
	CodeYearClosed = "year_closed"
	// CodeMissionAlreadyStarted: a mission started twice.
	CodeMissionAlreadyStarted = "mission_already_started"
	// CodeMissionNotStarted: a deployment before the mission's start.
	CodeMissionNotStarted = "mission_not_started"
	// CodeMissionAlreadyDeployed: a mission deployed twice.
	CodeMissionAlreadyDeployed = "mission_already_deployed"
	// CodeDateBeforeStart: a deployment dated before the mission's start.
	CodeDateBeforeStart = "date_before_start"
	// CodeUnknownIndicator: a value for an indicator the contract does not have.
	CodeUnknownIndicator = "unknown_indicator"
	// CodeMissionNotActive: a value for a mission that did not run in the year.
	CodeMissionNotActive = "mission_not_active"
	// CodeDuplicateValue: an indicator given twice in a report.
	CodeDuplicateValue = "duplicate_value"
	// CodeMissingValue: an indicator of a mission that ran in the year without a value.
	CodeMissingValue = "missing_value"
	// CodeFactsAfterTermination: a termination dated on or before a recorded start or deployment.
	CodeFactsAfterTermination = "facts_after_termination"
	// CodeMissionNotInForce: a mission that a later rulebook created, started before that rulebook is in force.
	CodeMissionNotInForce = "mission_not_in_force"
	// CodeUnknownRulebook: an amendment of a rulebook version the ledger does not have.
	CodeUnknownRulebook = "unknown_rulebook"
	// CodeDuplicateAmendment: an amendment published already (its id), or one that sets only the amounts in force.
	CodeDuplicateAmendment = "duplicate_amendment"
	// CodeEffectiveOutsideRulebook: an amendment effective on a day its rulebook is not in force.
	CodeEffectiveOutsideRulebook = "effective_outside_rulebook"
	// CodeAmendmentRetroactive: an amendment that changes published amounts from before its publication without saying "retroactive".
	CodeAmendmentRetroactive = "amendment_retroactive"
	// CodeUnknownTier: a tier the rulebook does not have.
	CodeUnknownTier = "unknown_tier"
	// CodeUnknownComponent: an amount component the mission does not have.
	CodeUnknownComponent = "unknown_component"
	// CodeAmountOutOfRange: an amount below 0, above 1 000 000 euros, or finer than a cent.
	CodeAmountOutOfRange = "amount_out_of_range"
	// CodeDuplicateAmount: an amount set twice by one amendment.
	CodeDuplicateAmount = "duplicate_amount"
	// CodeCrisisPeriod: a crisis period that ends before it begins.
	CodeCrisisPeriod = "crisis_period"
	// CodeCrisisOverlaps: a crisis recognised for days an existing recognition of the same ARS (or contract) covers.
	CodeCrisisOverlaps = "crisis_overlaps"
	// CodeUnknownARS: an ARS that is not one of the eighteen regional health agencies (the closest is named).
	CodeUnknownARS = "unknown_ars"
	// CodeIndicatorsReported: a terms correction that changes the codes of indicators a report gives values for.
	CodeIndicatorsReported = "indicators_reported"
	// CodeNoLetterOfIntentAid: a letter of intent validated before avenant 2 created its aid (2022-04-01).
	CodeNoLetterOfIntentAid = "no_letter_of_intent_aid"
	// CodeLetterValidated: a letter of intent validated a second time (one letter, one aid).
	CodeLetterValidated = "letter_validated"
	// CodeUnknownLetter: a signature naming a letter of intent never validated.
	CodeUnknownLetter = "unknown_letter"
	// CodeLetterOtherCPTS: a signature naming another CPTS's letter of intent.
	CodeLetterOtherCPTS = "letter_other_cpts"
	// CodeSignedBeforeLetter: a signature dated before the validation of the letter it names.
	CodeSignedBeforeLetter = "signed_before_letter"
	// CodeLetterFollowed: a signature naming a letter another contract follows (one letter, one contract).
	CodeLetterFollowed = "letter_followed"
)
