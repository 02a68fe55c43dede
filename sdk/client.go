package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agenttrace/agenttrace"
)

// Options configure a Client. Only URL and Key are needed.
type Options struct {
	URL string // the server, e.g. http://127.0.0.1:7070
	Key string // an API key with the ingest scope

	HTTPClient    *http.Client  // default: 30 s timeout
	BufferSize    int           // runs and steps queued before new ones are dropped; default 10000
	BatchSize     int           // items per request; default 500
	FlushInterval time.Duration // how long an item may wait for its batch; default 1 s
	MaxRetries    int           // retries of one batch on network errors and 5xx; default 5, negative for none
	MinBackoff    time.Duration // first retry delay, doubled each time; default 200 ms
	MaxBackoff    time.Duration // default 10 s
	Logger        *slog.Logger  // send failures (default: discarded)
}

// Stats counts what the client did.
type Stats struct {
	Queued    int64  // waiting in the buffer now
	Sent      int64  // accepted by the server
	Dropped   int64  // lost: buffer full, closed, rejected by the server, or out of retries
	Retries   int64  // requests retried
	LastError string // the last send failure, if any
}

// Client sends runs and steps to an agenttrace server in the background.
// It is safe for concurrent use.
type Client struct {
	opts     Options
	q        chan item
	flushReq chan chan struct{}
	stopCtx  context.Context
	stop     context.CancelFunc
	done     chan struct{}
	closed   atomic.Bool

	sent, dropped, retries atomic.Int64
	mu                     sync.Mutex
	lastErr                string
}

type item struct {
	run  *agenttrace.Run
	step *agenttrace.Step
}

// New starts a client and its sending goroutine; Close stops it.
func New(opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = 10000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	opts.BatchSize = min(opts.BatchSize, agenttrace.MaxBatchItems)
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 5
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	c := &Client{opts: opts, q: make(chan item, opts.BufferSize), flushReq: make(chan chan struct{}), done: make(chan struct{})}
	c.stopCtx, c.stop = context.WithCancel(context.Background())
	go c.loop()
	return c
}

// Stats reports the client's counters.
func (c *Client) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	last := c.lastErr
	c.mu.Unlock()
	return Stats{Queued: int64(len(c.q)), Sent: c.sent.Load(), Dropped: c.dropped.Load(), Retries: c.retries.Load(), LastError: last}
}

func (c *Client) fail(n int, err error) {
	c.dropped.Add(int64(n))
	c.mu.Lock()
	c.lastErr = err.Error()
	c.mu.Unlock()
	c.opts.Logger.Warn("agenttrace: items dropped", "count", n, "err", err)
}

func (c *Client) enqueueRun(r agenttrace.Run) { c.enqueue(item{run: &r}) }

func (c *Client) enqueueStep(s agenttrace.Step) { c.enqueue(item{step: &s}) }

// enqueue checks the item as the server would (so that one bad item cannot
// get a whole batch rejected) and queues it without blocking.
func (c *Client) enqueue(it item) {
	if c.closed.Load() {
		c.fail(1, fmt.Errorf("client closed"))
		return
	}
	var b agenttrace.Batch
	if it.run != nil {
		b.Runs = []agenttrace.Run{*it.run}
	} else {
		b.Steps = []agenttrace.Step{*it.step}
	}
	if err := b.Normalize(); err != nil {
		c.fail(1, err)
		return
	}
	select {
	case c.q <- it:
	default:
		c.fail(1, fmt.Errorf("buffer full (%d items)", c.opts.BufferSize))
	}
}

// Flush waits until everything queued before it has been sent (or given
// up on), or ctx ends.
func (c *Client) Flush(ctx context.Context) error {
	if c == nil {
		return nil
	}
	ack := make(chan struct{})
	select {
	case c.flushReq <- ack:
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close flushes (until ctx ends), then stops the sending goroutine. What
// could not be sent by then is counted as dropped. Later items are dropped.
func (c *Client) Close(ctx context.Context) error {
	if c == nil || !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := c.Flush(ctx)
	c.stop()
	<-c.done
	for {
		select {
		case <-c.q:
			c.fail(1, fmt.Errorf("client closed before the item was sent"))
		default:
			return err
		}
	}
}

func (c *Client) loop() {
	defer close(c.done)
	tick := time.NewTicker(c.opts.FlushInterval)
	defer tick.Stop()
	var pending []item
	flush := func() {
		if len(pending) > 0 {
			c.send(pending)
			pending = nil
		}
	}
	for {
		select {
		case it := <-c.q:
			pending = append(pending, it)
			if len(pending) >= c.opts.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		case ack := <-c.flushReq:
			for n := len(c.q); n > 0; n-- {
				pending = append(pending, <-c.q)
				if len(pending) >= c.opts.BatchSize {
					flush()
				}
			}
			flush()
			close(ack)
		case <-c.stopCtx.Done():
			if len(pending) > 0 {
				c.fail(len(pending), fmt.Errorf("client closed before the items were sent"))
			}
			return
		}
	}
}

// send posts items as one batch; a later copy of a run or step replaces an
// earlier one (a run is queued at its start and at its end).
func (c *Client) send(items []item) {
	var b agenttrace.Batch
	runAt := map[string]int{}
	stepAt := map[[2]string]int{}
	for _, it := range items {
		if it.run != nil {
			if i, ok := runAt[it.run.ID]; ok {
				b.Runs[i] = *it.run
				continue
			}
			runAt[it.run.ID] = len(b.Runs)
			b.Runs = append(b.Runs, *it.run)
		} else {
			k := [2]string{it.step.RunID, it.step.ID}
			if i, ok := stepAt[k]; ok {
				b.Steps[i] = *it.step
				continue
			}
			stepAt[k] = len(b.Steps)
			b.Steps = append(b.Steps, *it.step)
		}
	}
	body, err := json.Marshal(&b)
	if err != nil {
		c.fail(len(items), err)
		return
	}
	// Keep well under the server's body limit: split big batches.
	if len(body) > agenttrace.MaxBodyBytes*8/10 && len(items) > 1 {
		c.send(items[:len(items)/2])
		c.send(items[len(items)/2:])
		return
	}
	n := len(b.Runs) + len(b.Steps)
	dup := len(items) - n // superseded copies count as sent with their latest
	for attempt := 0; ; attempt++ {
		retry, err := c.post(body)
		if err == nil {
			c.sent.Add(int64(len(items)))
			return
		}
		if !retry || c.opts.MaxRetries < 0 || attempt >= c.opts.MaxRetries {
			c.fail(n+dup, err)
			return
		}
		c.retries.Add(1)
		d := min(c.opts.MinBackoff<<attempt, c.opts.MaxBackoff)
		d = d/2 + rand.N(d/2+1) // jitter
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.stopCtx.Done():
			t.Stop()
			c.fail(n+dup, fmt.Errorf("client closed while retrying: %w", err))
			return
		}
	}
}

// post sends one body; retry says whether a failure is worth retrying.
func (c *Client) post(body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(c.stopCtx, http.MethodPost, c.opts.URL+"/api/v1/ingest", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.opts.Key)
	req.Header.Set("User-Agent", "agenttrace-go-sdk")
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return true, fmt.Errorf("ingest: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return false, fmt.Errorf("ingest: %s: %s", resp.Status, bytes.TrimSpace(msg))
}
