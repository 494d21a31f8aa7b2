package main

// How lib/pq (the server's postgres driver) interprets a DSN, observed rather
// than re-implemented: lib/pq exports no parser, so every DSN is opened with
// pq.DialOpen -- the same NewConnector path sql.Open("postgres", dsn) takes in
// the server -- through a Dialer that hands lib/pq one end of a net.Pipe whose
// other end is a minimal fake PostgreSQL server run here.
//
// Each DSN is opened up to three times ("trials"); only the server's
// certificate changes between them:
//
//	good       leaf for the dialled host, issued by the trusted CA
//	untrusted  leaf for the dialled host, issued by a CA nobody trusts
//	wronghost  leaf for "wrong-host.invalid" only, issued by the trusted CA
//
// The trusted CA is trusted both ways lib/pq can be told to trust a CA:
//   - it is the only "system" root: SSL_CERT_FILE/SSL_CERT_DIR are pointed at
//     files of ours before crypto/x509 first loads the system pool, so
//     verify-ca/verify-full without sslrootcert verify against it;
//   - the process works in a temporary directory holding it under the
//     relative names root.crt, ca.pem and "my ca.pem", so a DSN naming one of
//     those as sslrootcert really has a readable, trusted root file.
//
// Verdict: "good" must succeed, or lib/pq would refuse a correctly configured
// server (ok=false, Rust must say Err). requests_tls: the client opened with an
// SSLRequest. verifies_chain: "untrusted" was refused. verifies_host:
// "wronghost" was refused. sslmode: the value lib/pq holds in its connection
// options afterwards (read by reflection from the unexported opts map; empty
// or absent means its default, require). password: lib/pq answered a
// cleartext-password request with a non-empty password (only that bit leaves
// this file).
//
// Isolation: every PG* variable is removed at start (a request may set some
// for the duration of its own probe), PGPASSFILE points at a missing file, no
// packet leaves the process. lib/pq would still load a client certificate
// from the running user's ~/.postgresql/postgresql.crt if one existed (it
// uses the password database, not $HOME, to find it); the oracle refuses to
// run if that file exists.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql/driver"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

// Names under which the trusted root is available to DSNs as sslrootcert.
var rootFileNames = []string{"root.crt", "ca.pem", "my ca.pem"}

const trialTimeout = 10 * time.Second

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

type pgLab struct {
	dir                string
	trusted, untrusted *authority
}

func newAuthority(name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// leaf issues a server certificate for the given names (IP literals become IP SANs).
func (a *authority) leaf(names []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "oracle leaf"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}, nil
}

func newPGLab() (*pgLab, error) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PG") {
			os.Unsetenv(k)
		}
	}
	if u, err := user.Current(); err == nil {
		if _, err := os.Stat(filepath.Join(u.HomeDir, ".postgresql", "postgresql.crt")); err == nil {
			return nil, fmt.Errorf("%s/.postgresql/postgresql.crt exists; lib/pq would present it, which the oracle cannot model", u.HomeDir)
		}
	}
	dir, err := os.MkdirTemp("", "secure-mattermost-oracle-")
	if err != nil {
		return nil, err
	}
	lab := &pgLab{dir: dir}
	fail := func(err error) (*pgLab, error) { lab.cleanup(); return nil, err }
	if lab.trusted, err = newAuthority("secure-mattermost oracle trusted CA"); err != nil {
		return fail(err)
	}
	if lab.untrusted, err = newAuthority("secure-mattermost oracle untrusted CA"); err != nil {
		return fail(err)
	}
	for _, n := range append([]string{"system-roots.pem"}, rootFileNames...) {
		if err := os.WriteFile(filepath.Join(dir, n), lab.trusted.pem, 0o600); err != nil {
			return fail(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "no-cert-dir"), 0o700); err != nil {
		return fail(err)
	}
	// Before anything touches crypto/x509's system pool (loaded once, lazily).
	os.Setenv("SSL_CERT_FILE", filepath.Join(dir, "system-roots.pem"))
	os.Setenv("SSL_CERT_DIR", filepath.Join(dir, "no-cert-dir"))
	os.Setenv("PGPASSFILE", filepath.Join(dir, "no-pgpass"))
	if err := os.Chdir(dir); err != nil {
		return fail(err)
	}
	return lab, nil
}

func (p *pgLab) cleanup() {
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

type certKind int

const (
	certGood certKind = iota
	certUntrusted
	certWrongHost
)

type trial struct {
	dialed, sslRequest, startup bool
	password                    bool
	sslmode                     string
	sslmodeSet                  bool
	err                         error
}

// pipeDialer is the pq.Dialer of one trial.
type pipeDialer struct {
	lab    *pgLab
	kind   certKind
	res    *trial
	mu     sync.Mutex
	served chan struct{}
	client net.Conn
}

func (d *pipeDialer) Dial(network, address string) (net.Conn, error) {
	return d.dial(network, address)
}

func (d *pipeDialer) DialTimeout(network, address string, _ time.Duration) (net.Conn, error) {
	return d.dial(network, address)
}

func (d *pipeDialer) dial(network, address string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.served != nil {
		return nil, errors.New("oracle: lib/pq dialled twice")
	}
	d.res.dialed = true
	host := ""
	if network == "tcp" {
		// What a real dial would refuse before sending a byte: the address
		// syntax and the port. Host names are taken to resolve.
		h, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if _, err := net.LookupPort("tcp", port); err != nil {
			return nil, err
		}
		host = h
	}
	client, server := net.Pipe()
	d.client = client
	d.served = make(chan struct{})
	go func() {
		defer close(d.served)
		d.serve(server, host)
	}()
	return client, nil
}

func (d *pipeDialer) certificate(host string) (tls.Certificate, error) {
	names := []string{strings.TrimRight(host, ".")}
	if h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"); h != host {
		names = append(names, h)
	}
	if i := strings.LastIndexByte(host, '%'); i > 0 {
		names = append(names, host[:i])
	}
	ca := d.lab.trusted
	switch d.kind {
	case certUntrusted:
		ca = d.lab.untrusted
	case certWrongHost:
		return ca.leaf([]string{"wrong-host.invalid"})
	}
	if c, err := ca.leaf(names); err == nil {
		return c, nil
	}
	// No certificate can name this host (SANs are ASCII): present one that
	// names something else, so unverified TLS still works and a host check fails.
	return ca.leaf([]string{"unnameable-host.invalid"})
}

// serve speaks just enough of the PostgreSQL protocol (v3) for lib/pq's
// connection start-up: SSLRequest ('S'), StartupMessage, a cleartext password
// request, AuthenticationOk and ReadyForQuery; then waits for the client to hang up.
func (d *pipeDialer) serve(conn net.Conn, host string) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(trialTimeout))
	var c net.Conn = conn
	code, err := readStartup(c)
	if err != nil {
		return
	}
	if code == 80877103 {
		d.res.sslRequest = true
		if _, err := c.Write([]byte{'S'}); err != nil {
			return
		}
		cert, err := d.certificate(host)
		if err != nil {
			return
		}
		t := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := t.Handshake(); err != nil {
			return
		}
		c = t
		if code, err = readStartup(c); err != nil {
			return
		}
	}
	if code != 196608 {
		return
	}
	d.res.startup = true
	if writeMsg(c, 'R', be32(3)) != nil {
		return
	}
	typ, body, err := readMsg(c)
	if err != nil || typ != 'p' {
		return
	}
	d.res.password = len(body) > 1 // NUL-terminated
	if writeMsg(c, 'R', be32(0)) != nil || writeMsg(c, 'Z', []byte{'I'}) != nil {
		return
	}
	io.Copy(io.Discard, c)
}

func be32(n uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, n)
	return b
}

// readStartup reads an untyped start-up packet and returns its code.
func readStartup(c net.Conn) (uint32, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 8 || n > 1<<16 {
		return 0, errors.New("bad start-up length")
	}
	if _, err := io.CopyN(io.Discard, c, int64(n-8)); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(hdr[4:]), nil
}

func readMsg(c net.Conn) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<16 {
		return 0, nil, errors.New("bad message length")
	}
	body := make([]byte, n-4)
	_, err := io.ReadFull(c, body)
	return hdr[0], body, err
}

func writeMsg(c net.Conn, typ byte, body []byte) error {
	msg := append([]byte{typ}, be32(uint32(len(body)+4))...)
	_, err := c.Write(append(msg, body...))
	return err
}

// readOpt reads one entry of lib/pq's unexported per-connection options.
func readOpt(c driver.Conn, key string) (string, bool) {
	v := reflect.ValueOf(c)
	if v.Kind() == reflect.Ptr {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", false
	}
	m := v.FieldByName("opts")
	if !m.IsValid() || m.Kind() != reflect.Map || m.Type().Key().Kind() != reflect.String {
		return "", false
	}
	x := m.MapIndex(reflect.ValueOf(key).Convert(m.Type().Key()))
	if !x.IsValid() || x.Kind() != reflect.String {
		return "", false
	}
	return x.String(), true
}

func (p *pgLab) run(dsn string, kind certKind) trial {
	var res trial
	d := &pipeDialer{lab: p, kind: kind, res: &res}
	type opened struct {
		conn driver.Conn
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		var o opened
		defer func() {
			if x := recover(); x != nil {
				o.err = fmt.Errorf("lib/pq panicked: %v", x)
			}
			ch <- o
		}()
		o.conn, o.err = pq.DialOpen(d, dsn)
	}()
	var o opened
	select {
	case o = <-ch:
	case <-time.After(2 * trialTimeout):
		res.err = errors.New("oracle: trial timed out")
		return res
	}
	if o.err == nil && o.conn != nil {
		res.sslmode, res.sslmodeSet = readOpt(o.conn, "sslmode")
		o.conn.Close()
	}
	res.err = o.err
	d.mu.Lock()
	served, client := d.served, d.client
	d.mu.Unlock()
	if client != nil && o.err != nil {
		// lib/pq drops (without closing) the connection when its own
		// certificate check (verify-ca) fails; hang up for it.
		client.Close()
	}
	if served != nil {
		select {
		case <-served:
		case <-time.After(2 * trialTimeout):
			res.err = errors.New("oracle: fake server did not finish")
		}
	}
	if res.err == nil && !res.startup {
		res.err = errors.New("oracle: connected without a start-up message")
	}
	return res
}

// envLock: probes that set PG* variables must not overlap (they do not: the
// oracle handles one request at a time; this only documents the assumption).
var envLock sync.Mutex

func (p *pgLab) probe(dsn string, env map[string]string) map[string]any {
	envLock.Lock()
	defer envLock.Unlock()
	for k, v := range env {
		if !strings.HasPrefix(k, "PG") || k == "PGPASSFILE" {
			return map[string]any{"error": "oracle: only PG* variables other than PGPASSFILE may be set: " + k}
		}
		os.Setenv(k, v)
	}
	defer func() {
		for k := range env {
			os.Unsetenv(k)
		}
	}()

	good := p.run(dsn, certGood)
	if good.err != nil {
		stage := "before dialling"
		switch {
		case good.sslRequest:
			stage = "during TLS"
		case good.dialed:
			stage = "after dialling, before any packet"
		}
		return map[string]any{"ok": false, "error": good.err.Error(), "stage": stage}
	}
	mode := good.sslmode
	if mode == "" {
		mode = "require" // lib/pq's switch treats empty/absent as require
	}
	out := map[string]any{
		"ok":             true,
		"sslmode":        mode,
		"sslmode_set":    good.sslmodeSet,
		"requests_tls":   good.sslRequest,
		"verifies_chain": false,
		"verifies_host":  false,
		"password":       good.password,
	}
	if good.sslRequest {
		u := p.run(dsn, certUntrusted)
		w := p.run(dsn, certWrongHost)
		out["verifies_chain"] = u.err != nil
		out["verifies_host"] = w.err != nil
		if u.err != nil {
			out["untrusted_error"] = u.err.Error()
		}
		if w.err != nil {
			out["wronghost_error"] = w.err.Error()
		}
	}
	return out
}
