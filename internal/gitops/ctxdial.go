package gitops

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// go-git v5 bounds an SSH connection's TCP connect by a timeout but runs the SSH handshake
// (and everything after it) with no deadline and no context: a server that accepts and then
// stays silent would hold a sync until it hangs up. go-git does, however, dial SSH through a
// golang.org/x/net/proxy dialer named by the operation's ProxyOptions. So for SSH remotes each
// network operation names a dialer of ours, registered once under the scheme below, that
// closes the connection when the operation's context ends; go-git then fails at once.
const ctxDialScheme = "fabsync-ctx"

var (
	registerCtxDialer sync.Once
	ctxOps            sync.Map // operation id (string) -> context.Context
	ctxOpSeq          atomic.Uint64
)

// proxyFor returns the ProxyOptions that bind an SSH operation's connection to ctx, and a
// function to call when the operation is over. For other transports it returns none.
func (c *Client) proxyFor(ctx context.Context) (transport.ProxyOptions, func()) {
	if c.ep.Protocol != "ssh" {
		return transport.ProxyOptions{}, func() {}
	}
	registerCtxDialer.Do(func() {
		proxy.RegisterDialerType(ctxDialScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
			return ctxDialer{id: u.Host}, nil
		})
	})
	id := "op" + strconv.FormatUint(ctxOpSeq.Add(1), 10)
	ctxOps.Store(id, ctx)
	return transport.ProxyOptions{URL: ctxDialScheme + "://" + id}, func() { ctxOps.Delete(id) }
}

// ctxDialer dials directly and closes the connection when its operation's context ends.
type ctxDialer struct{ id string }

func (d ctxDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext dials addr; ctx is go-git's connect timeout, the operation's context comes from
// the registry.
func (d ctxDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	op := context.Background()
	if v, ok := ctxOps.Load(strings.TrimSuffix(d.id, ":")); ok {
		op = v.(context.Context)
	}
	if err := op.Err(); err != nil {
		return nil, err
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	// Closing is how the operation's end interrupts go-git; the error the
	// blocked read or write then returns is what reports it.
	stop := context.AfterFunc(op, func() { _ = conn.Close() })
	return &ctxConn{Conn: conn, stop: stop}, nil
}

type ctxConn struct {
	net.Conn
	stop func() bool
}

func (c *ctxConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// netErr translates the error of a network operation run under opCtx: when opCtx ended, that
// is the cause, whatever go-git made of the closed connection.
func (c *Client) netErr(opCtx context.Context, op string, err error) error {
	if cerr := opCtx.Err(); cerr != nil {
		return c.translate(op, cerr)
	}
	return c.translate(op, err)
}
