package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/api"
)

// Defaults of `ledger serve` that keep one client from starving the others.
const (
	defaultRatePerToken = 50  // requests per second per person
	defaultRateBurst    = 200 // requests a person may send at once
)

// SecurityConfig is how `ledger serve` protects itself: TLS, maker-checker,
// per-token rate limits and the credentials of an external NATS server.
type SecurityConfig struct {
	TLSCert, TLSKey string  // HTTPS when both are set
	FourEyes        string  // --four-eyes: write-offs,reversals,payments-over=AMOUNT
	RatePerToken    float64 // 0: no per-token limit
	RateBurst       int

	NATSCreds    string // a .creds file (JWT and nkey seed)
	NATSNkey     string // an nkey seed file
	NATSUser     string
	NATSPassword string
	NATSCA       string // CA bundle that signed the NATS servers' certificates
	NATSCert     string // client certificate for NATS servers that require one
	NATSKey      string
}

// addSecurityFlags declares the flags of SecurityConfig on fs.
func addSecurityFlags(fs *flag.FlagSet, c *SecurityConfig) {
	fs.StringVar(&c.TLSCert, "tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fs.StringVar(&c.FourEyes, "four-eyes", envOr("LEDGER_FOUR_EYES", ""),
		"commands that need a second person's approval: write-offs,reversals,payments-over=AMOUNT (default: none)")
	fs.Float64Var(&c.RatePerToken, "rate-limit", defaultRatePerToken, "requests per second per person (0: no limit)")
	fs.IntVar(&c.RateBurst, "rate-burst", defaultRateBurst, "requests a person may send at once")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "with --nats: credentials file (JWT and nkey seed)")
	fs.StringVar(&c.NATSNkey, "nats-nkey", "", "with --nats: nkey seed file")
	fs.StringVar(&c.NATSUser, "nats-user", "", "with --nats: user name")
	fs.StringVar(&c.NATSPassword, "nats-password", envOr("LEDGER_NATS_PASSWORD", ""),
		"with --nats: password (better given as LEDGER_NATS_PASSWORD, which ps does not show)")
	fs.StringVar(&c.NATSCA, "nats-ca", "", "with --nats: CA certificates (PEM) to verify the servers with TLS")
	fs.StringVar(&c.NATSCert, "nats-cert", "", "with --nats: client certificate (PEM; with --nats-key)")
	fs.StringVar(&c.NATSKey, "nats-key", "", "with --nats: client private key (PEM)")
}

// natsOptions turns the NATS credentials and TLS flags into connection options.
func (c SecurityConfig) natsOptions() ([]nats.Option, error) {
	var opts []nats.Option
	methods := 0
	if c.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
		methods++
	}
	if c.NATSNkey != "" {
		opt, err := nats.NkeyOptionFromSeed(c.NATSNkey)
		if err != nil {
			return nil, fmt.Errorf("nats nkey: %w", err)
		}
		opts = append(opts, opt)
		methods++
	}
	if c.NATSUser != "" || c.NATSPassword != "" {
		if c.NATSUser == "" || c.NATSPassword == "" {
			return nil, fmt.Errorf("%w: --nats-user and --nats-password go together", errUsage)
		}
		opts = append(opts, nats.UserInfo(c.NATSUser, c.NATSPassword))
		methods++
	}
	if methods > 1 {
		return nil, fmt.Errorf("%w: give one of --nats-creds, --nats-nkey, --nats-user", errUsage)
	}
	if c.NATSCA != "" {
		opts = append(opts, nats.RootCAs(c.NATSCA))
	}
	if (c.NATSCert == "") != (c.NATSKey == "") {
		return nil, fmt.Errorf("%w: --nats-cert and --nats-key go together", errUsage)
	}
	if c.NATSCert != "" {
		opts = append(opts, nats.ClientCert(c.NATSCert, c.NATSKey))
	}
	return opts, nil
}

// apiConfig is the part of the API's configuration these flags decide.
func (c SecurityConfig) apiConfig(cfg api.Config) (api.Config, error) {
	fourEyes, err := api.ParseFourEyes(c.FourEyes)
	if err != nil {
		return api.Config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.FourEyes, cfg.RatePerToken, cfg.RateBurst = fourEyes, c.RatePerToken, c.RateBurst
	return cfg, nil
}

// certificate holds the TLS certificate, replaced on SIGHUP so that a
// renewed certificate needs no restart.
type certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

func (c *certificate) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	c.current.Store(&cert)
	return nil
}

// tlsConfig returns the server's TLS configuration, or nil without
// --tls-cert: then the API is plain HTTP (for a loopback address or behind
// a proxy that terminates TLS).
func (c SecurityConfig) tlsConfig() (*tls.Config, *certificate, error) {
	if c.TLSCert == "" && c.TLSKey == "" {
		return nil, nil, nil
	}
	if c.TLSCert == "" || c.TLSKey == "" {
		return nil, nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	cert := &certificate{certFile: c.TLSCert, keyFile: c.TLSKey}
	if err := cert.load(); err != nil {
		return nil, nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cert.current.Load(), nil
		},
	}, cert, nil
}

// reloader re-reads what may change under a running server on SIGHUP: the
// tokens file (rotation without restart) and the TLS certificate.
type reloader struct {
	tokens     *api.Tokens
	tokensPath string
	cert       *certificate // nil without TLS
	mu         sync.Mutex
	stop       func()
}

// Reload re-reads the tokens file (hashing any plain token added to it) and
// the certificate; on any error the ones in force stay.
func (r *reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	hashTokensFile(r.tokensPath)
	err := r.tokens.Reload()
	if r.cert != nil {
		err = errors.Join(err, r.cert.load())
	}
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	slog.Info("reloaded", "tokens", r.tokens.Len())
	return nil
}

// watch reloads on each SIGHUP until stopped.
func (r *reloader) watch() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var once sync.Once
	r.stop = func() { once.Do(func() { signal.Stop(hup); close(done) }) }
	go func() {
		for {
			select {
			case <-hup:
				if err := r.Reload(); err != nil {
					slog.Error("SIGHUP: kept the tokens and certificate in force", "err", err)
				}
			case <-done:
				return
			}
		}
	}()
}

// hashTokensFile replaces plain tokens in the file by their digests, so
// that once loaded no token stays on disk in plain text. A file the server
// may not write (a mounted secret) is only warned about.
func hashTokensFile(path string) {
	changed, err := api.HashTokensFile(path)
	switch {
	case err != nil:
		slog.Warn("tokens file holds plain tokens that could not be replaced by their digests", "file", path, "err", err)
	case changed:
		slog.Info("tokens file: plain tokens replaced by their digests", "file", path)
	}
}
