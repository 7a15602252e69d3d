package eventstore

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The hash's own writing of recorded_at is the general formatter's, to the
// byte, for any instant (the years it writes by hand and those it hands on,
// any zone, nanoseconds truncated to microseconds).
func TestRecordedAtWrittenAsTheFormatterWrites(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		sec := rapid.Int64Range(-70000000000, 300000000000).Draw(rt, "unix_seconds")
		nsec := rapid.Int64Range(0, 999999999).Draw(rt, "nanoseconds")
		zone := time.FixedZone("z", rapid.IntRange(-14*3600, 14*3600).Draw(rt, "zone_offset"))
		at := time.Unix(sec, nsec).In(zone)
		want := string(at.UTC().AppendFormat(nil, RecordedAtFormat))
		if got := string(appendRecordedAt(nil, at)); got != want {
			rt.Fatalf("%v: %s, the formatter %s", at, got, want)
		}
	})
}
