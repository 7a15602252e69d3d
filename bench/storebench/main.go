// Command storebench measures the ledger's event store against the Go peer
// a user would pick instead — github.com/hallgren/eventsourcing's SQLite
// store on the cgo driver its README names — and against the ceiling log
// (an append-only file with one fdatasync per group), on five workloads,
// in one run: rounds interleaved (each round runs every store on every
// workload, the order of the stores alternating), a fresh directory per
// measurement, medians and same-run ratios printed. With -strace, each
// store's appends are first run under strace to count the fsyncs per
// commit (both must make one: the same durability).
//
//	cd bench && go run ./storebench -rounds 5
//
// It is a module of its own (bench/go.mod): the peer and its cgo driver
// are not dependencies of the ledger.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// sizes of the workloads.
var (
	sequentialN = flag.Int("sequential", 1500, "single-event appends per measurement")
	batches     = flag.Int("batches", 300, "batches of 100 per measurement")
	concurrentN = flag.Int("concurrent", 300, "appends per appender (16 appenders) per measurement")
	streamLoads = flag.Int("loads", 2000, "50-event streams loaded per measurement (of 200 written)")
	logEvents   = flag.Int("log", 200000, "events in the log read whole")
	rounds      = flag.Int("rounds", 5, "rounds, interleaved")
	dir         = flag.String("dir", "", "where the fresh directories go (default: the system's temporary directory; the same file system for every store)")
	straceFlag  = flag.Bool("strace", false, "first count each store's fsyncs per commit under strace")
	child       = flag.String("child", "", "internal: run one store's sequential appends for -strace")
	reopen      = flag.Int("reopen", 0, "only time the prototype's opening of a log of this many events (its indexes rebuilt by reading the file)")
)

// workload is one measurement: a rate (events/s) or a duration per item.
type workload struct {
	name    string
	unit    string // "ev/s" or "µs"
	ceiling bool   // the ceiling log runs it too
	run     func(o opener, dir string) (float64, error)
}

var workloads = []workload{
	{"sequential single appends", "ev/s", true, sequential},
	{"batches of 100", "ev/s", true, batch100},
	{"16 concurrent appenders", "ev/s", true, concurrent16},
	{"load a 50-event stream", "µs", false, load50},
	{"read the whole log", "ev/s", false, readAll},
}

func main() {
	flag.Parse()
	if *child != "" {
		os.Exit(runChild(*child))
	}
	if *reopen > 0 {
		if err := timeReopen(*reopen); err != nil {
			fmt.Fprintln(os.Stderr, "storebench:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("storebench: %d rounds, %s %s/%s, GOMAXPROCS=%d, %s\n", *rounds, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	if *straceFlag {
		if err := fsyncsPerCommit(); err != nil {
			fmt.Fprintln(os.Stderr, "storebench:", err)
			os.Exit(1)
		}
	}
	results := map[string]map[string][]float64{} // workload → store → runs
	for r := 0; r < *rounds; r++ {
		for _, w := range workloads {
			if results[w.name] == nil {
				results[w.name] = map[string][]float64{}
			}
			for _, o := range order(r, w) {
				v, err := measure(o, w)
				if err != nil {
					fmt.Fprintf(os.Stderr, "storebench: %s, %s: %v\n", w.name, o.name, err)
					os.Exit(1)
				}
				results[w.name][o.name] = append(results[w.name][o.name], v)
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", r+1, *rounds)
	}
	report(results)
}

// order is the stores of a round, the order alternating from one round to
// the next (what the machine does in the background falls on each in turn).
func order(round int, w workload) []opener {
	os := slices.Clone(stores)
	if w.ceiling {
		os = append(os, ceiling)
	}
	if round%2 == 1 {
		slices.Reverse(os)
	}
	return os
}

// measure runs a workload on a fresh directory.
func measure(o opener, w workload) (float64, error) {
	d, err := os.MkdirTemp(*dir, "storebench-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(d)
	return w.run(o, d)
}

func open(o opener, dir string) (store, error) { return o.open(dir) }

func sequential(o opener, dir string) (float64, error) { return appends(o, dir, *sequentialN, 1) }

func batch100(o opener, dir string) (float64, error) { return appends(o, dir, *batches, 100) }

// appends makes n appends of size events each, over 1 000 streams in turn,
// one after the other, and returns the events appended a second.
func appends(o opener, dir string, n, size int) (float64, error) {
	s, err := open(o, dir)
	if err != nil {
		return 0, err
	}
	defer s.close()
	versions := map[string]int{}
	start := time.Now()
	for i := 0; i < n; i++ {
		stream := fmt.Sprintf("s-%d", i%1000)
		if err := s.append(stream, versions[stream], size); err != nil {
			return 0, err
		}
		versions[stream] += size
	}
	return float64(n*size) / time.Since(start).Seconds(), nil
}

// concurrent16 runs 16 appenders of one event each, each on its own
// streams (no two on one stream: a conflict would measure the retry).
func concurrent16(o opener, dir string) (float64, error) {
	s, err := open(o, dir)
	if err != nil {
		return 0, err
	}
	defer s.close()
	var wg sync.WaitGroup
	errs := make([]error, 16)
	start := time.Now()
	for g := range 16 {
		wg.Go(func() {
			versions := map[string]int{}
			for i := 0; i < *concurrentN; i++ {
				stream := fmt.Sprintf("g%d-s-%d", g, i%60)
				if err := s.append(stream, versions[stream], 1); err != nil {
					errs[g] = err
					return
				}
				versions[stream]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(16**concurrentN) / elapsed.Seconds(), nil
}

// load50 writes 200 streams of 50 events, then loads streams at random:
// the median microseconds a load takes.
func load50(o opener, dir string) (float64, error) {
	s, err := open(o, dir)
	if err != nil {
		return 0, err
	}
	defer s.close()
	for i := range 200 {
		if err := s.append(fmt.Sprintf("c-%d", i), 0, 50); err != nil {
			return 0, err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	took := make([]float64, *streamLoads)
	for i := range took {
		start := time.Now()
		n, err := s.load(fmt.Sprintf("c-%d", rng.IntN(200)))
		if err != nil || n != 50 {
			return 0, fmt.Errorf("loaded %d events: %v", n, err)
		}
		took[i] = float64(time.Since(start).Nanoseconds()) / 1000
	}
	return median(took), nil
}

// readAll writes the log (batches of 500 over 5 000 streams) then reads it
// whole once.
func readAll(o opener, dir string) (float64, error) {
	s, err := open(o, dir)
	if err != nil {
		return 0, err
	}
	defer s.close()
	versions := map[string]int{}
	for i := 0; i < *logEvents; i += 500 {
		stream := fmt.Sprintf("s-%d", (i/500)%5000)
		if err := s.append(stream, versions[stream], 500); err != nil {
			return 0, err
		}
		versions[stream] += 500
	}
	start := time.Now()
	n, err := s.readAll()
	if err != nil || n != *logEvents {
		return 0, fmt.Errorf("read %d events: %v", n, err)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report prints, per workload, each store's median, the same-run ratios to
// the peer (for the load, the peer's time over the store's: > 1 is ahead)
// and the ledger's to the ceiling, then every run.
func report(results map[string]map[string][]float64) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tledger\tpeer\tprototype\tceiling\tledger / peer\tprototype / peer\tledger / ceiling\t")
	for _, w := range workloads {
		r := results[w.name]
		ratio := func(a, b string) string {
			x, y := median(r[a]), median(r[b])
			if w.unit == "µs" {
				x, y = y, x
			}
			return fmt.Sprintf("%.2f", x/y)
		}
		c, cr := "—", "—"
		if w.ceiling {
			c, cr = fmt.Sprintf("%.0f %s", median(r["ceiling"]), w.unit), fmt.Sprintf("%.2f", median(r["ledger"])/median(r["ceiling"]))
		}
		fmt.Fprintf(tw, "%s\t%.0f %s\t%.0f %s\t%.0f %s\t%s\t%s\t%s\t%s\t\n", w.name, median(r["ledger"]), w.unit, median(r["peer"]), w.unit,
			median(r["prototype"]), w.unit, c, ratio("ledger", "peer"), ratio("prototype", "peer"), cr)
	}
	tw.Flush()
	fmt.Println("runs (ledger | peer | prototype | ceiling):")
	for _, w := range workloads {
		r := results[w.name]
		fmt.Printf("  %s: %s | %s | %s | %s\n", w.name, runs(r["ledger"]), runs(r["peer"]), runs(r["prototype"]), runs(r["ceiling"]))
	}
}

func runs(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, " ")
}
