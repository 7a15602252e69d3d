package domain

// Rejection codes every scheme shares: the stable, machine-readable code of a
// violation (Violation.Code). Each is documented in docs/domain.md, and
// TestEveryCodeIsDocumented fails when one is not.

const (
	// CodeMissingField: a required field is absent or empty.
	CodeMissingField = "missing_field"
	// CodeInvalidType: a field has the wrong JSON type.
	CodeInvalidType = "invalid_type"
	// CodeUnknownField: a key that is not a field of the command (names match exactly, case included).
	CodeUnknownField = "unknown_field"
	// CodeDuplicateField: a key given twice in one object.
	CodeDuplicateField = "duplicate_field"
	// CodeMalformedJSON: the line is not one JSON object.
	CodeMalformedJSON = "malformed_json"
	// CodeInvalidUTF8: the line is not valid UTF-8.
	CodeInvalidUTF8 = "invalid_utf8"
	// CodeLineTooLong: the line is longer than 1 MiB.
	CodeLineTooLong = "line_too_long"
	// CodeInvalidDate: a date that is not YYYY-MM-DD.
	CodeInvalidDate = "invalid_date"
	// CodeDateOutOfRange: a date outside the span the rulebooks cover.
	CodeDateOutOfRange = "date_out_of_range"
	// CodeInvalidNumber: a number that does not parse, has an exponent, or exceeds its limits.
	CodeInvalidNumber = "invalid_number"
	// CodeInvalidUUID: an id that is not a canonical UUID.
	CodeInvalidUUID = "invalid_uuid"
	// CodeTooLong: a text longer than its limit.
	CodeTooLong = "too_long"
	// CodeTooMany: a list longer than its limit.
	CodeTooMany = "too_many"
	// CodeControlCharacter: a control character (Unicode Cc) or a bidirectional formatting character (Bidi_Control) in
	// a name, or in a reason (where a line break or a tab is allowed).
	CodeControlCharacter = "control_character"
	// CodeUnknownCommand: a command type no scheme has.
	CodeUnknownCommand = "unknown_command"
	// CodeWrongContract: the command names another contract than the state it is decided on.
	CodeWrongContract = "wrong_contract"
	// CodeContractNotFound: no contract with that id has been signed.
	CodeContractNotFound = "contract_not_found"
	// CodeContractExists: the contract is signed already.
	CodeContractExists = "contract_exists"
	// CodeContractIDTaken: the id is the id of a contract of another scheme.
	CodeContractIDTaken = "contract_id_taken"
	// CodeCommandIDReused: the command id is recorded already, for another command.
	CodeCommandIDReused = "command_id_reused"
	// CodeAlreadyTerminated: the contract is terminated already.
	CodeAlreadyTerminated = "already_terminated"
	// CodeContractTerminated: the contract is terminated: no new fact.
	CodeContractTerminated = "contract_terminated"
	// CodeDateBeforeSignature: a date before the signature.
	CodeDateBeforeSignature = "date_before_signature"
	// CodeDateAfterContract: a date after the contract's last day.
	CodeDateAfterContract = "date_after_contract"
	// CodeDuplicateReport: a second report for a contract year.
	CodeDuplicateReport = "duplicate_report"
	// CodeYearOutOfRange: a contract year outside 1 to 5.
	CodeYearOutOfRange = "year_out_of_range"
	// CodeYearAfterTermination: a contract year that begins after the termination.
	CodeYearAfterTermination = "year_after_termination"
	// CodeYearNotEnded: a report dated before the end of its year.
	CodeYearNotEnded = "year_not_ended"
	// CodeNegativeValue: a value below 0.
	CodeNegativeValue = "negative_value"
	// CodeNoRulebook: no rulebook of the scheme is in force on the signature date.
	CodeNoRulebook = "no_rulebook"
	// CodeUnknownEvent: a correction names an event the ledger does not hold.
	CodeUnknownEvent = "unknown_event"
	// CodeWrongEvent: a correction names an event of another contract, or of a type it does not correct.
	CodeWrongEvent = "wrong_event"
	// CodeCorrectedBeforeEvent: a correction dated before the event it corrects.
	CodeCorrectedBeforeEvent = "corrected_before_event"
	// CodeNoChange: a correction that changes nothing.
	CodeNoChange = "no_change"
	// CodePrescribed: a correction whose regularisation would recover money decided longer ago than the rulebook's recovery_prescription_years.
	CodePrescribed = "prescribed"
	// CodeBackdated: an act (a publication, a recognition, a correction) dated before the day the ledger records it.
	CodeBackdated = "backdated"
	// CodeInvalidValue: a query parameter outside the values it takes (a status, a scheme, a limit, a cursor).
	CodeInvalidValue = "invalid_value"
	// CodeInvalidIBAN: an IBAN that is not one of a SEPA country (its length, its characters, its check digits).
	CodeInvalidIBAN = "invalid_iban"
	// CodeInvalidBIC: a BIC that is not 8 or 11 letters and digits as ISO 9362 lays them out.
	CodeInvalidBIC = "invalid_bic"
	// CodeSameActor: a bank account confirmed by the person who recorded it (a change of account takes two people).
	CodeSameActor = "same_actor"
	// CodeUnknownAccount: a confirmation naming no bank account recorded on the contract.
	CodeUnknownAccount = "unknown_account"
	// CodeAlreadyConfirmed: a bank account confirmed twice.
	CodeAlreadyConfirmed = "already_confirmed"
	// CodeNothingToOrder: a payment order for a contract with nothing payable (every payment ordered already, or blocked).
	CodeNothingToOrder = "nothing_to_order"
	// CodeUnknownOrder: a bank entry naming no order of the contract.
	CodeUnknownOrder = "unknown_order"
	// CodeAmountMismatch: a bank entry whose amount is not its order's.
	CodeAmountMismatch = "amount_mismatch"
	// CodeAlreadySettled: an order booked twice.
	CodeAlreadySettled = "already_settled"
	// CodeOrderReturned: an entry about an order already returned.
	CodeOrderReturned = "order_returned"
	// CodeUnknownOverpayment: a command naming no overpayment of the contract.
	CodeUnknownOverpayment = "unknown_overpayment"
	// CodeContestLate: a notice contested after its two months (or once owed).
	CodeContestLate = "contest_late"
	// CodeAlreadyContested: a notice contested twice.
	CodeAlreadyContested = "already_contested"
	// CodeNotContested: a decision on a notice nobody contested.
	CodeNotContested = "not_contested"
	// CodeAlreadyDecided: a contest decided twice.
	CodeAlreadyDecided = "already_decided"
	// CodeRejected: a rejection without a more precise code.
	CodeRejected = "rejected"
)
