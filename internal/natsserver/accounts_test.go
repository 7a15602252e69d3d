package natsserver_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/internal/natsserver"
)

// docs/deploy.md gives a cluster the accounts the embedded server has:
// the block it shows is what AccountsConfig writes (with placeholder
// keys), so that the two never drift.
func TestTheDeployDocShowsTheAccounts(t *testing.T) {
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	want := natsserver.AccountsConfig(natsserver.Users{Publisher: "UPUBLISHER…", Subscriber: "USUBSCRIBER…"})
	if !strings.Contains(string(doc), "```\n"+want+"```\n") {
		t.Fatalf("docs/deploy.md does not show the accounts as configured; want the block:\n%s", want)
	}
}
