package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/hrss-ledger/ledger/api"
)

// secServer is a real `ledger serve` started with a SecurityConfig, asked
// through its own HTTP client (one that trusts its certificate).
type secServer struct {
	*testServer
	welcome string
}

// startSecured opens a server on dataDir with cfg's security settings;
// tokensFile "" lets the server generate its tokens.
func startSecured(t *testing.T, dataDir, tokensFile string, sec SecurityConfig, client *http.Client) *secServer {
	t.Helper()
	m, err := Open(context.Background(), Config{DataDir: dataDir, Listen: "127.0.0.1:0", TokensFile: tokensFile, Security: sec})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var welcome bytes.Buffer
	m.printWelcome(&welcome)
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, m: m, cancel: cancel, done: make(chan error, 1), data: dataDir}
	go func() { s.done <- m.Run(ctx) }()
	t.Cleanup(s.stop)
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	s.client = client
	return &secServer{testServer: s, welcome: welcome.String()}
}

// printedTokens reads the role -> token lines of the welcome text.
func printedTokens(welcome string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(welcome, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && strings.HasPrefix(f[1], f[0]+"-") {
			out[f[0]] = f[1]
		}
	}
	return out
}

func TestServeKeepsNoPlainTokenOnDisk(t *testing.T) {
	data := t.TempDir()
	s := startSecured(t, data, "", SecurityConfig{}, nil)
	printed := printedTokens(s.welcome)
	path := filepath.Join(data, "tokens")
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the first start prints one token per role", func(t *testing.T) {
		if len(printed) != len(api.Roles) {
			t.Fatalf("printed %v in\n%s", printed, s.welcome)
		}
	})
	t.Run("the printed tokens work and carry their names", func(t *testing.T) {
		who := s.must(200, "GET", "/v1/whoami", printed["officer"], nil)
		if who.body["name"] != "demo-officer" || who.body["role"] != "officer" {
			t.Errorf("whoami: %s", who.raw)
		}
	})
	t.Run("the tokens file holds none of them", func(t *testing.T) {
		for role, token := range printed {
			if bytes.Contains(file, []byte(token)) {
				t.Errorf("the %s token is in %s in plain text", role, path)
			}
		}
	})
	s.stop()
	again := startSecured(t, data, "", SecurityConfig{}, nil)
	t.Run("a restart prints no token and accepts the old ones", func(t *testing.T) {
		if len(printedTokens(again.welcome)) != 0 {
			t.Errorf("the restart printed tokens:\n%s", again.welcome)
		}
		again.must(200, "GET", "/v1/whoami", printed["viewer"], nil)
	})
}

func TestServeRotatesTokensOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("officer tok-old officer-wang\nviewer tok-screen\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSecured(t, t.TempDir(), path, SecurityConfig{}, nil)
	t.Run("plain tokens in a given file are replaced by their digests once loaded", func(t *testing.T) {
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte("tok-old")) || !bytes.Contains(data, []byte(api.HashToken("tok-old"))) {
			t.Errorf("tokens file after start:\n%s", data)
		}
	})
	s.must(200, "GET", "/v1/whoami", "tok-old", nil)
	next := "officer tok-new officer-wang\nauditor tok-audit auditor-zhao expires=2999-12-31\nviewer " + api.HashToken("tok-screen") + "\n"
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.do("GET", "/v1/whoami", "tok-new", nil).status != 200 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	t.Run("after SIGHUP the new token is accepted without a restart", func(t *testing.T) {
		who := s.must(200, "GET", "/v1/whoami", "tok-new", nil)
		if who.body["name"] != "officer-wang" {
			t.Errorf("whoami: %s", who.raw)
		}
		s.must(200, "GET", "/v1/whoami", "tok-audit", nil)
	})
	t.Run("after SIGHUP the rotated-out token is refused", func(t *testing.T) {
		s.must(401, "GET", "/v1/whoami", "tok-old", nil)
	})
	t.Run("a broken file on reload keeps the tokens in force", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("officer tok-x\nroot tok-y\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.m.ReloadTokens(); err == nil {
			t.Error("reload of a broken file = nil error, want one")
		}
		s.must(200, "GET", "/v1/whoami", "tok-new", nil)
		s.must(401, "GET", "/v1/whoami", "tok-x", nil)
	})
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir(), "ledger")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tokens := writeTokens(t)
	s := startSecured(t, t.TempDir(), tokens, SecurityConfig{TLSCert: certFile, TLSKey: keyFile}, client)
	t.Run("the server names an https URL", func(t *testing.T) {
		if !strings.HasPrefix(s.m.URL(), "https://") {
			t.Errorf("URL = %s", s.m.URL())
		}
	})
	t.Run("a client trusting the certificate is served over TLS", func(t *testing.T) {
		s.must(200, "GET", "/healthz", "", nil)
		s.must(200, "GET", "/v1/whoami", officer, nil)
	})
	t.Run("plain HTTP is not served", func(t *testing.T) {
		plain := strings.Replace(s.m.URL(), "https://", "http://", 1)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(plain + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Error("plain HTTP answered 200")
			}
		}
	})
	t.Run("a client that does not trust the certificate is refused", func(t *testing.T) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(s.m.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			t.Error("an untrusted certificate was accepted")
		}
	})
	t.Run("a certificate without its key is a usage error", func(t *testing.T) {
		_, err := Open(context.Background(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", TokensFile: tokens,
			Security: SecurityConfig{TLSCert: certFile}})
		if err == nil {
			t.Error("Open with --tls-cert alone succeeded")
		}
	})
}

// startSecuredNATS runs a nats-server with JetStream that requires TLS
// and a user name and password, on a loopback port.
func startSecuredNATS(t *testing.T, certFile, keyFile string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	_, port := splitAddr(t, freeAddr(t))
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(),
		Username: "ledger", Password: "s3cret-pw", NoLog: true, NoSigs: true,
		TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(srv.Shutdown)
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

func TestServeOnNATSWithTLSAndCredentials(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir(), "nats")
	url := startSecuredNATS(t, certFile, keyFile)
	tokens := writeTokens(t)
	open := func(sec SecurityConfig) error {
		m, err := Open(context.Background(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", TokensFile: tokens, NATSURL: url, Security: sec})
		if err == nil {
			err = m.Close()
		}
		return err
	}
	cases := []struct {
		name string
		sec  SecurityConfig
		ok   bool
	}{
		{"the right user and password over TLS verified with the CA connect", SecurityConfig{NATSUser: "ledger", NATSPassword: "s3cret-pw", NATSCA: certFile}, true},
		{"a wrong password is refused", SecurityConfig{NATSUser: "ledger", NATSPassword: "guess", NATSCA: certFile}, false},
		{"no credentials are refused", SecurityConfig{NATSCA: certFile}, false},
		{"a server certificate the client cannot verify is refused", SecurityConfig{NATSUser: "ledger", NATSPassword: "s3cret-pw"}, false},
		{"a user without a password is a usage error", SecurityConfig{NATSUser: "ledger", NATSCA: certFile}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := open(c.sec); (err == nil) != c.ok {
				t.Errorf("Open: %v, want ok %v", err, c.ok)
			}
		})
	}
}

// TestEmbeddedNATSListensOnNoPort checks the embedded server opens no
// socket: the process listens on the HTTP port only.
func TestEmbeddedNATSListensOnNoPort(t *testing.T) {
	before := listeningPorts(t)
	s := startServer(t, t.TempDir())
	after := listeningPorts(t)
	_, httpPort := splitAddr(t, strings.TrimPrefix(s.m.URL(), "http://"))
	for port := range after {
		if !before[port] && port != httpPort {
			t.Errorf("a new listening port %d besides HTTP %d", port, httpPort)
		}
	}
}

// listeningPorts reads the TCP ports in LISTEN state from /proc/net/tcp{,6}.
func listeningPorts(t *testing.T) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Skipf("no %s: %v", file, err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			port, ok := new(big.Int).SetString(hexPort, 16)
			if ok {
				out[int(port.Int64())] = true
			}
		}
	}
	return out
}
