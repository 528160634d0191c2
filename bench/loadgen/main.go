// Command loadgen is the ingest benchmark's open-loop load generator, standard library only.
//
//	loadgen open -url URL -rate R -duration 20s -connections 64 -body FILE [-header 'K: V']... [-placeholder TOKEN]
//	loadgen serve -addr 127.0.0.1:0
//
// open sends requests on a fixed schedule (request i is due at start + i/R) and measures each latency from its
// intended send time, so a slow server cannot hold the generator back and hide its own queueing (no
// coordinated omission); with -rate 0 it sends as fast as its connections allow (the generator's ceiling). It
// replaces every occurrence of the placeholder in the body with a unique id per request and prints one JSON
// object. serve answers every request with 200 and a tiny body: the trivial endpoint of the ceiling runs.
// Only loopback addresses are accepted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// Result is what one open-loop run prints.
type Result struct {
	URL             string             `json:"url"`
	OfferedRate     float64            `json:"offered_rate"`
	DurationSeconds float64            `json:"duration_seconds"`
	Connections     int                `json:"connections"`
	Scheduled       int64              `json:"scheduled"`
	Completed       int64              `json:"completed"`
	Accepted        int64              `json:"accepted"`
	Non2xx          int64              `json:"non_2xx"`
	Errors          int64              `json:"errors"`
	Unsent          int64              `json:"unsent"`
	Statuses        map[string]int64   `json:"statuses"`
	ErrorSamples    []string           `json:"error_samples"`
	AchievedRate    float64            `json:"achieved_rate"`
	ElapsedSeconds  float64            `json:"elapsed_seconds"`
	LatencyMs       map[string]float64 `json:"latency_ms"`
	BodyBytes       int                `json:"body_bytes"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen open|serve [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "open":
		os.Exit(open(os.Args[2:]))
	case "serve":
		os.Exit(serve(os.Args[2:]))
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown mode %q (open or serve)\n", os.Args[1])
		os.Exit(2)
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func serve(args []string) int {
	flags := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := flags.String("addr", "127.0.0.1:0", "loopback address to listen on")
	_ = flags.Parse(args)
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !loopback(host) {
		fmt.Fprintf(os.Stderr, "loadgen serve: %q is not a loopback address\n", *addr)
		return 2
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen serve: %v\n", err)
		return 1
	}
	fmt.Printf("listening on %s\n", listener.Addr())
	body := []byte(`{"ok":true}`)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	if err := http.Serve(listener, handler); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen serve: %v\n", err)
		return 1
	}
	return 0
}

type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	statuses  map[string]int64
	samples   []string
	accepted  atomic.Int64
	non2xx    atomic.Int64
	errors    atomic.Int64
	last      atomic.Int64 // unix nanos of the last completion
}

func (r *recorder) done(latency time.Duration, status int, err error) {
	r.last.Store(time.Now().UnixNano())
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors.Add(1)
		if len(r.samples) < 5 {
			r.samples = append(r.samples, err.Error())
		}
		return
	}
	r.latencies = append(r.latencies, latency)
	r.statuses[fmt.Sprint(status)]++
	if status >= 200 && status < 300 {
		r.accepted.Add(1)
	} else {
		r.non2xx.Add(1)
	}
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	return float64(sorted[rank]) / float64(time.Millisecond)
}

func open(args []string) int {
	flags := flag.NewFlagSet("open", flag.ExitOnError)
	target := flags.String("url", "", "loopback URL to POST to")
	rate := flags.Float64("rate", 100, "requests per second on the schedule; 0: as fast as the connections allow")
	duration := flags.Duration("duration", 20*time.Second, "how long requests are scheduled")
	grace := flags.Duration("grace", 10*time.Second, "how long requests still due or in flight may finish after")
	connections := flags.Int("connections", 64, "most requests in flight (HTTP/1.1 connections)")
	bodyFile := flags.String("body", "", "file with the request body")
	placeholder := flags.String("placeholder", "@@UNIQUE@@", "replaced by a unique id in each request body")
	prefix := flags.String("id-prefix", fmt.Sprintf("%x", time.Now().UnixNano()), "prefix of the unique ids")
	method := flags.String("method", "POST", "HTTP method")
	var extra headers
	flags.Var(&extra, "header", "request header 'Name: value' (repeatable)")
	_ = flags.Parse(args)

	parsed, err := url.Parse(*target)
	if err != nil || !loopback(parsed.Hostname()) {
		fmt.Fprintf(os.Stderr, "loadgen open: %q is not a loopback URL; only loopback may be load-tested\n", *target)
		return 2
	}
	template := []byte{}
	if *bodyFile != "" {
		if template, err = os.ReadFile(*bodyFile); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen open: %v\n", err)
			return 2
		}
	}
	parts := bytes.Split(template, []byte(*placeholder))
	header := http.Header{}
	for _, line := range extra {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "loadgen open: header %q is not 'Name: value'\n", line)
			return 2
		}
		header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxConnsPerHost:     *connections,
		MaxIdleConnsPerHost: *connections,
		// Idle connections are closed here before the server closes them (its keep-alive is longer): a server
		// closing one races a request sent on it, which would count as a failure that no server caused.
		IdleConnTimeout:    30 * time.Second,
		DisableCompression: true,
		DialContext:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}

	rec := &recorder{statuses: map[string]int64{}}
	var counter atomic.Int64
	send := func(ctx context.Context, intended time.Time) {
		id := []byte(fmt.Sprintf("%s%09d", *prefix, counter.Add(1)))
		body := bytes.Join(parts, id)
		request, err := http.NewRequestWithContext(ctx, *method, *target, bytes.NewReader(body))
		if err != nil {
			rec.done(0, 0, err)
			return
		}
		request.Header = header.Clone()
		response, err := client.Do(request)
		if err != nil {
			rec.done(0, 0, err)
			return
		}
		_, _ = io.Copy(io.Discard, response.Body)
		_ = response.Body.Close()
		rec.done(time.Since(intended), response.StatusCode, nil)
	}

	start := time.Now()
	end := start.Add(*duration)
	ctx, cancel := context.WithDeadline(context.Background(), end.Add(*grace))
	defer cancel()
	var scheduled, unsent atomic.Int64
	var workers sync.WaitGroup
	if *rate <= 0 {
		for w := 0; w < *connections; w++ {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for time.Now().Before(end) {
					scheduled.Add(1)
					send(ctx, time.Now())
				}
			}()
		}
	} else {
		interval := time.Duration(float64(time.Second) / *rate)
		due := make(chan time.Time, int(*rate*duration.Seconds())+1)
		for w := 0; w < *connections; w++ {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for intended := range due {
					if ctx.Err() != nil {
						unsent.Add(1)
						continue
					}
					send(ctx, intended)
				}
			}()
		}
		for i := int64(0); ; i++ {
			intended := start.Add(time.Duration(i) * interval)
			if !intended.Before(end) {
				break
			}
			if wait := time.Until(intended); wait > 0 {
				time.Sleep(wait)
			}
			scheduled.Add(1)
			due <- intended
		}
		close(due)
	}
	workers.Wait()
	elapsed := time.Duration(rec.last.Load() - start.UnixNano())
	if elapsed <= 0 {
		elapsed = time.Since(start)
	}
	sort.Slice(rec.latencies, func(i, j int) bool { return rec.latencies[i] < rec.latencies[j] })
	latency := map[string]float64{}
	if len(rec.latencies) > 0 {
		latency = map[string]float64{
			"p50":   percentile(rec.latencies, 50),
			"p90":   percentile(rec.latencies, 90),
			"p99":   percentile(rec.latencies, 99),
			"p99.9": percentile(rec.latencies, 99.9),
			"max":   percentile(rec.latencies, 100),
		}
	}
	result := Result{
		URL:             *target,
		OfferedRate:     *rate,
		DurationSeconds: duration.Seconds(),
		Connections:     *connections,
		Scheduled:       scheduled.Load(),
		Completed:       int64(len(rec.latencies)),
		Accepted:        rec.accepted.Load(),
		Non2xx:          rec.non2xx.Load(),
		Errors:          rec.errors.Load(),
		Unsent:          unsent.Load(),
		Statuses:        rec.statuses,
		ErrorSamples:    rec.samples,
		AchievedRate:    float64(rec.accepted.Load()) / elapsed.Seconds(),
		ElapsedSeconds:  elapsed.Seconds(),
		LatencyMs:       latency,
		BodyBytes:       len(bytes.Join(parts, []byte(fmt.Sprintf("%s%09d", *prefix, 0)))),
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, errors.Join(errors.New("loadgen open: cannot print the result"), err))
		return 1
	}
	return 0
}
