// Ember peer benchmarks -- Go side (goroutines and channels only).
//
// Standard library only, no go.mod needed. run-peers.sh builds it into a
// temporary directory:
//
//	go build -o "$TMP/ember_peers_go" benches/peers/go/main.go
//	"$TMP/ember_peers_go" [--quick] all | list | WORKLOAD...
//
// Output: one line per measurement
//
//	RESULT <workload> go <value> <unit>
//
// plus free-form comment lines starting with "# ".
// Definitions of every workload: see ../README.md.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

var workloads = []string{"spawn_1m", "skynet_1m", "ping_pong", "ring_1000x10000", "ring_10000x1000"}

var quick bool

// full size, or 10x smaller with --quick
func sz(n int) int {
	if quick {
		return n / 10
	}
	return n
}

func result(w string, value float64, unit string) {
	var v string
	if value >= 1000 {
		v = strconv.FormatInt(int64(value+0.5), 10)
	} else {
		v = strconv.FormatFloat(value, 'f', 4, 64)
	}
	fmt.Printf("RESULT %s go %s %s\n", w, v, unit)
}

func rate(count int, d time.Duration) float64 { return float64(count) / d.Seconds() }

// spawn_1m: the root starts N goroutines; each sends one message to the root
// (a channel buffered to N, i.e. an unbounded mailbox for this purpose) and
// exits; the root receives all N messages.
func spawn1m() {
	n := sz(1_000_000)
	root := make(chan struct{}, n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() { root <- struct{}{} }()
	}
	for i := 0; i < n; i++ {
		<-root
	}
	result("spawn_1m", rate(n, time.Since(t0)), "procs/s")
}

// canonical Go skynet: unbuffered channel per parent
func skynet(c chan<- int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	sub := size / div
	for i := 0; i < div; i++ {
		go skynet(rc, num+i*sub, sub, div)
	}
	sum := 0
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynet1m() {
	size := sz(1_000_000)
	expected := size * (size - 1) / 2
	c := make(chan int)
	t0 := time.Now()
	go skynet(c, 0, size, 10)
	sum := <-c
	d := time.Since(t0)
	if sum != expected {
		fmt.Fprintf(os.Stderr, "skynet: wrong sum %d, expected %d\n", sum, expected)
		os.Exit(1)
	}
	result("skynet_1m", d.Seconds(), "s")
}

// ping_pong: main goroutine (A) and B, unbuffered channels both ways
func pingPong() {
	n := sz(1_000_000)
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	d := time.Since(t0)
	close(ping)
	result("ping_pong", rate(n, d), "roundtrips/s")
}

// ring: n goroutines, each with its own unbuffered inbound channel; the token
// carries the number of hops left. Setup is excluded from the timing.
func ring(w string, n, laps int) {
	chans := make([]chan int, n)
	for i := range chans {
		chans[i] = make(chan int)
	}
	done := make(chan struct{})
	for i := 0; i < n; i++ {
		in, out := chans[i], chans[(i+1)%n]
		go func() {
			for h := range in {
				if h == 1 {
					done <- struct{}{}
					continue
				}
				out <- h - 1
			}
		}()
	}
	hops := n * laps
	t0 := time.Now()
	chans[0] <- hops
	<-done
	result(w, rate(hops, time.Since(t0)), "hops/s")
}

func run(w string) {
	switch w {
	case "spawn_1m":
		spawn1m()
	case "skynet_1m":
		skynet1m()
	case "ping_pong":
		pingPong()
	case "ring_1000x10000":
		ring(w, 1000, sz(10_000))
	case "ring_10000x1000":
		ring(w, 10_000, sz(1000))
	}
}

func main() {
	var names []string
	for _, a := range os.Args[1:] {
		if a == "--quick" {
			quick = true
		} else {
			names = append(names, a)
		}
	}
	if len(names) == 1 && names[0] == "list" {
		for _, w := range workloads {
			fmt.Println(w)
		}
		return
	}
	if len(names) == 0 {
		fmt.Fprintln(os.Stderr, "usage: ember_peers_go [--quick] all | list | WORKLOAD...")
		os.Exit(2)
	}
	if len(names) == 1 && names[0] == "all" {
		names = workloads
	}
	for _, w := range names {
		known := false
		for _, k := range workloads {
			known = known || k == w
		}
		if !known {
			fmt.Fprintf(os.Stderr, "unknown workload: %s\n", w)
			os.Exit(2)
		}
	}
	fmt.Printf("# go: %s GOMAXPROCS=%d quick=%v\n", runtime.Version(), runtime.GOMAXPROCS(0), quick)
	for _, w := range names {
		run(w)
	}
}
