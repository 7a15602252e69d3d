package natsserver

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// Two accounts. Permissions on subjects cannot stop a subscriber from
// making the server publish: a push consumer's deliver subject is in the
// body of its creation request, and the server delivers wherever it says —
// onto ledger.checkpoints, say, where the checkpoints' stream stored a
// copy of every event. So the subscriber lives in an account of its own,
// READERS, without JetStream, which imports from the ledger's account,
// LEDGER, only what reading takes: stream and consumer information, a
// message by sequence, the next messages of a pull consumer, acknowledg-
// ements, and consumer creation through serve's gate (GateSubject), which
// refuses any consumer with a deliver subject (a push consumer) and
// forwards the others. Nothing a reader does can publish in LEDGER, and a
// reader can delete no consumer. The same configuration serves the
// embedded server and, written out by AccountsConfig, a cluster
// (docs/deploy.md).

// Account names.
const (
	LedgerAccount  = "LEDGER"
	ReadersAccount = "READERS"
)

// GatePrefix is the subject prefix, in LEDGER, of serve's consumer gate:
// READERS' $JS.API.CONSUMER.CREATE.> and $JS.API.CONSUMER.DURABLE.CREATE.>
// come to GatePrefix + "CONSUMER.CREATE.>" and so on.
const GatePrefix = "ledger_gate.JS.API."

// readable are the streams readers may read.
var readable = []string{"LEDGER", "LEDGER_CHECKPOINTS"}

// AccountsConfig is the accounts block of a server's configuration (the
// NATS configuration language) for the two users.
func AccountsConfig(u Users) string {
	var exports, imports []string
	direct := func(subject, response string) {
		e := fmt.Sprintf("{service: %q", subject)
		if response != "" {
			e += ", response: " + response
		}
		exports = append(exports, e+"}")
		imports = append(imports, fmt.Sprintf("{service: {account: %s, subject: %q}}", LedgerAccount, subject))
	}
	direct("$JS.API.INFO", "")
	for _, s := range readable {
		direct("$JS.API.STREAM.INFO."+s, "")
		direct("$JS.API.STREAM.MSG.GET."+s, "")
		direct("$JS.API.CONSUMER.INFO."+s+".>", "")
		direct("$JS.API.CONSUMER.MSG.NEXT."+s+".>", "stream")
		direct("$JS.ACK."+s+".>", "")
	}
	for _, api := range []string{"CONSUMER.CREATE.", "CONSUMER.DURABLE.CREATE."} {
		for _, s := range readable {
			for _, tail := range []string{"", ".>"} {
				gate := GatePrefix + api + s + tail
				exports = append(exports, fmt.Sprintf("{service: %q}", gate))
				imports = append(imports, fmt.Sprintf("{service: {account: %s, subject: %q}, to: %q}", LedgerAccount, gate, "$JS.API."+api+s+tail))
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "accounts {\n  %s {\n    jetstream: enabled\n", LedgerAccount)
	fmt.Fprintf(&b, "    users: [ {nkey: %q, permissions: {publish: \">\", subscribe: \">\"}} ]\n", u.Publisher)
	fmt.Fprintf(&b, "    exports: [\n      %s\n    ]\n  }\n", strings.Join(exports, "\n      "))
	fmt.Fprintf(&b, "  %s {\n", ReadersAccount)
	fmt.Fprintf(&b, "    users: [ {nkey: %q, permissions: {publish: {allow: [%s]}, subscribe: {allow: [\"_INBOX.>\"]}}} ]\n",
		u.Subscriber, quoteAll(readerPublish()))
	fmt.Fprintf(&b, "    imports: [\n      %s\n    ]\n  }\n}\n", strings.Join(imports, "\n      "))
	return b.String()
}

// readerPublish is what a reader may publish: the imported API subjects,
// acknowledgements, and requests' inboxes.
func readerPublish() []string {
	out := []string{"$JS.API.INFO", "_INBOX.>"}
	for _, s := range readable {
		out = append(out, "$JS.API.STREAM.INFO."+s, "$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.CONSUMER.INFO."+s+".>", "$JS.API.CONSUMER.MSG.NEXT."+s+".>", "$JS.ACK."+s+".>",
			"$JS.API.CONSUMER.CREATE."+s, "$JS.API.CONSUMER.CREATE."+s+".>", "$JS.API.CONSUMER.DURABLE.CREATE."+s+".>")
	}
	return out
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// ConfigureAccounts gives opts the two accounts and their users.
func ConfigureAccounts(opts *server.Options, u Users) error {
	if err := opts.ProcessConfigString(AccountsConfig(u)); err != nil {
		return fmt.Errorf("natsserver: the accounts' configuration: %w", err)
	}
	return nil
}
