package domain

import (
	"fmt"
	"testing"
)

// NetOff, worked by hand: year 1 pays 100, then a recovery of 30 (year 1)
// and a negative regularisation of 50 (year 2) are owed; a payment of 40
// settles the 30 and 10 of the 50; a payment of 25 settles 25 more; 15 of
// year 2's 50 remain to recover.
func TestNetOffOldestRecoveryFirst(t *testing.T) {
	d := func(year int, amount string) PaymentDecided {
		return PaymentDecided{ContractYear: year, Amount: MustMoney(amount)}
	}
	net, outstanding := NetOff([]PaymentDecided{d(1, "100"), d(1, "-30"), d(2, "-50"), d(3, "40"), d(3, "25"), d(3, "0")})
	want := []string{"100.00/0.00", "0.00/0.00", "0.00/0.00", "0.00/40.00", "0.00/25.00", "0.00/0.00"}
	for i, n := range net {
		if got := fmt.Sprintf("%s/%s", n.ToPay, n.Offset); got != want[i] {
			t.Errorf("decision %d: to pay/offset %s, want %s", i, got, want[i])
		}
	}
	if len(outstanding) != 1 || outstanding[2].String() != "15.00" {
		t.Fatalf("outstanding %v, want year 2: 15.00", outstanding)
	}
	net, outstanding = NetOff([]PaymentDecided{d(1, "-10"), d(2, "60")})
	if net[1].ToPay.String() != "50.00" || len(outstanding) != 0 {
		t.Fatalf("a recovery then a payment: %+v %v", net, outstanding)
	}
}
