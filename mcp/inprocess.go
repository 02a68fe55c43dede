package mcp

import (
	"io"
	"net/http"
	"strconv"
	"sync"
)

// HandlerTransport is an http.RoundTripper that serves each request with an
// http.Handler in the same process: the MCP endpoint's client reaches the
// server's own API without a network loopback, with the caller's key, so
// authentication, scopes and accounts apply exactly as over the network.
//
// The response streams: RoundTrip answers as soon as the handler writes its
// header (or returns), and the body is read while the handler still runs.
type HandlerTransport struct {
	Handler http.Handler
}

// RoundTrip runs the handler on a copy of req.
func (t HandlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RequestURI = r.URL.RequestURI()
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	r.RemoteAddr = "in-process"
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1

	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					pw.CloseWithError(io.ErrUnexpectedEOF)
				} else {
					w.WriteHeader(http.StatusInternalServerError)
					pw.CloseWithError(io.ErrUnexpectedEOF)
				}
				w.markReady()
				return
			}
			w.WriteHeader(http.StatusOK) // a handler that wrote nothing answers 200
			pw.Close()
		}()
		t.Handler.ServeHTTP(w, r)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	resp := &http.Response{
		Status:     strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		StatusCode: w.code,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        w.sent,
		Body:          pr,
		ContentLength: -1,
		Request:       req,
	}
	return resp, nil
}

// pipeWriter is the handler's side of a HandlerTransport response.
type pipeWriter struct {
	header http.Header
	sent   http.Header // the header as it was when written
	code   int
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	w.sent = w.header.Clone()
	w.markReady()
}

func (w *pipeWriter) markReady() {
	w.once.Do(func() {
		if w.code == 0 {
			w.code = http.StatusInternalServerError
			w.sent = w.header.Clone()
		}
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		if w.header.Get("Content-Type") == "" {
			w.header.Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	// io.Pipe hands b to the reader before Write returns, so the handler
	// may reuse it afterwards.
	return w.body.Write(b)
}

// Flush is a no-op: every Write is handed to the reader as it happens.
func (w *pipeWriter) Flush() {}
