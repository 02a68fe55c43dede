package eval

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agenttrace/agenttrace"
)

// A judge's URL is set by an account's admin, and the server calls it. So
// that one tenant cannot make the server reach what only the server can
// (its loopback, the private network, a cloud metadata address), judge
// calls refuse internal addresses unless the server's operator allows them
// (AGENTTRACE_JUDGE_ALLOW, e.g. a local model server at 127.0.0.1:11434).

// JudgeGuard decides which internal addresses judges may call.
type JudgeGuard struct {
	// Allow lists "host", "host:port" or "*" (every internal address).
	// Hosts are matched as written in the URL and as resolved IPs.
	Allow []string
}

// internal reports whether a is an address only the server's side reaches.
func internal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT, used inside some clouds
}

func (g JudgeGuard) allowed(host, port string) bool {
	return slices.Contains(g.Allow, "*") || slices.Contains(g.Allow, host) || slices.Contains(g.Allow, net.JoinHostPort(host, port))
}

func (g JudgeGuard) refusal(host, port, ip string) error {
	what := host
	if ip != "" && ip != host {
		what += " (" + ip + ")"
	}
	return agenttrace.Errorf(agenttrace.EINVALID,
		"config.url: %s is an internal address; judges may call it only when the server allows it with AGENTTRACE_JUDGE_ALLOW=%s", what, net.JoinHostPort(host, port))
}

// CheckURL refuses, when the evaluator is saved, a URL whose host is an
// internal IP literal or localhost. Names are checked again when dialling.
func (g JudgeGuard) CheckURL(u *url.URL) error {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if g.allowed(host, port) {
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return g.refusal(host, port, "")
	}
	if a, err := netip.ParseAddr(host); err == nil && internal(a) {
		return g.refusal(host, port, "")
	}
	return nil
}

// Client answers the HTTP client of judge calls: its dialer checks the
// address actually connected to (after DNS), so a name that resolves, or
// later re-resolves, to an internal address is refused too.
func (g JudgeGuard) Client() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	d.Control = func(network, address string, _ syscall.RawConn) error {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !internal(a) || g.allowed(host, port) {
			return nil
		}
		return fmt.Errorf("judge: refusing to connect to the internal address %s (allow it with AGENTTRACE_JUDGE_ALLOW)", address)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the check must see the judge's address, not a proxy's
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && g.allowed(host, port) {
			// Allowed by name: connect to whatever it resolves to.
			return (&net.Dialer{Timeout: d.Timeout, KeepAlive: d.KeepAlive}).DialContext(ctx, network, addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr}
}
