package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Role is what a token may do.
type Role string

// The roles of API.md.
const (
	RoleOfficer  Role = "officer"  // records events
	RoleApprover Role = "approver" // approves write-offs and reversals
	RoleAuditor  Role = "auditor"  // reads everything, verifies, replays
	RoleViewer   Role = "viewer"   // dashboards
)

// Roles lists every role, in the order a generated tokens file names them.
var Roles = []Role{RoleOfficer, RoleApprover, RoleAuditor, RoleViewer}

// Principal is who made a request.
type Principal struct {
	Role Role
	Name string // recorded as the actor of each event
}

// hashedPrefix marks a token stored as its SHA-256 digest in a tokens file.
const hashedPrefix = "sha256:"

// expiresPrefix introduces a token's expiry date in a tokens file.
const expiresPrefix = "expires="

// generatedTokenBytes is the entropy of a generated token.
const generatedTokenBytes = 16

type credential struct {
	digest  [sha256.Size]byte
	expires time.Time // zero: never; otherwise refused from this instant on
	Principal
}

// Tokens holds the accepted bearer tokens, hashed: the plain token is never
// kept in memory after loading, and comparison is in constant time. A
// Tokens loaded from a file can be reloaded from it (rotation without
// restart).
type Tokens struct {
	mu    sync.RWMutex
	creds []credential
	path  string           // "" when parsed from a reader
	now   func() time.Time // the clock that expires tokens
}

// Errors of token lookups.
var (
	// ErrTokenUnknown: no line of the tokens file has this token.
	ErrTokenUnknown = errors.New("api: unknown token")
	// ErrTokenExpired: the token's expiry date has come.
	ErrTokenExpired = errors.New("api: token expired")
)

// LoadTokens reads a tokens file: one `ROLE TOKEN [NAME] [expires=YYYY-MM-DD]`
// per line, # comments; TOKEN is either the token itself or `sha256:HEX`,
// its SHA-256 digest in hex, so that the file need not hold it in plain text.
func LoadTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path, now: time.Now}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseTokens reads tokens in the file format from r.
func ParseTokens(r io.Reader) (*Tokens, error) {
	creds, err := parseTokens(r)
	if err != nil {
		return nil, err
	}
	return &Tokens{creds: creds, now: time.Now}, nil
}

// Reload reads the tokens file again and, only if all of it is valid,
// replaces the accepted tokens: a typo in an edited file keeps the old set.
// This is what the server does on SIGHUP.
func (t *Tokens) Reload() error {
	if t.path == "" {
		return errors.New("api: tokens were not loaded from a file")
	}
	f, err := os.Open(t.path)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	creds, err := parseTokens(f)
	if err != nil {
		return fmt.Errorf("tokens %s: %w", t.path, err)
	}
	t.mu.Lock()
	t.creds = creds
	t.mu.Unlock()
	return nil
}

// Len returns how many tokens are accepted.
func (t *Tokens) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.creds)
}

// SetClock replaces the clock that decides expiry (tests).
func (t *Tokens) SetClock(now func() time.Time) {
	t.mu.Lock()
	t.now = now
	t.mu.Unlock()
}

func parseTokens(r io.Reader) ([]credential, error) {
	var creds []credential
	scanner := bufio.NewScanner(r)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		c, err := parseTokenLine(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		creds = append(creds, c)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return creds, nil
}

// tokenLine is one parsed line of a tokens file, before hashing.
type tokenLine struct {
	role    Role
	secret  string // the plain token, or sha256:HEX
	name    string // "" when the line names none
	expires string // YYYY-MM-DD or ""
}

func splitTokenLine(text string) (tokenLine, error) {
	fields := strings.Fields(text)
	if len(fields) < 2 || len(fields) > 4 {
		return tokenLine{}, errors.New("want ROLE TOKEN [NAME] [expires=YYYY-MM-DD]")
	}
	l := tokenLine{role: Role(fields[0]), secret: fields[1]}
	if !validRole(l.role) {
		return tokenLine{}, fmt.Errorf("unknown role %q", fields[0])
	}
	for _, f := range fields[2:] {
		switch date, isExpiry := strings.CutPrefix(f, expiresPrefix); {
		case isExpiry && l.expires == "":
			l.expires = date
		case !isExpiry && l.name == "":
			l.name = f
		default:
			return tokenLine{}, fmt.Errorf("unexpected %q: want ROLE TOKEN [NAME] [expires=YYYY-MM-DD]", f)
		}
	}
	return l, nil
}

func parseTokenLine(text string) (credential, error) {
	l, err := splitTokenLine(text)
	if err != nil {
		return credential{}, err
	}
	c := credential{Principal: Principal{Role: l.role, Name: l.name}}
	if c.Name == "" {
		c.Name = string(l.role)
	}
	if c.digest, err = digestOf(l.secret); err != nil {
		return credential{}, err
	}
	if l.expires != "" {
		day, err := time.Parse(time.DateOnly, l.expires)
		if err != nil {
			return credential{}, fmt.Errorf("expires: %q is not a date YYYY-MM-DD", l.expires)
		}
		c.expires = day
	}
	return c, nil
}

// digestOf returns the digest of a token given plain or as sha256:HEX.
func digestOf(secret string) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	h, hashed := strings.CutPrefix(secret, hashedPrefix)
	if !hashed {
		return sha256.Sum256([]byte(secret)), nil
	}
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != sha256.Size {
		return d, fmt.Errorf("%s must be followed by %d hex digits", hashedPrefix, 2*sha256.Size)
	}
	copy(d[:], raw)
	return d, nil
}

// HashToken returns the form of a token that a tokens file may hold instead
// of the token: sha256:HEX.
func HashToken(token string) string {
	d := sha256.Sum256([]byte(token))
	return hashedPrefix + hex.EncodeToString(d[:])
}

func validRole(r Role) bool {
	switch r {
	case RoleOfficer, RoleApprover, RoleAuditor, RoleViewer:
		return true
	}
	return false
}

// Lookup returns the principal of a bearer token. Every credential is
// compared, so the time taken does not tell which one matched. The error
// is ErrTokenUnknown or ErrTokenExpired.
func (t *Tokens) Lookup(token string) (Principal, error) {
	digest := sha256.Sum256([]byte(token))
	t.mu.RLock()
	defer t.mu.RUnlock()
	var found credential
	ok := 0
	for _, c := range t.creds {
		match := subtle.ConstantTimeCompare(digest[:], c.digest[:])
		if match == 1 {
			found = c
		}
		ok |= match
	}
	switch {
	case ok != 1:
		return Principal{}, ErrTokenUnknown
	case !found.expires.IsZero() && !t.now().Before(found.expires):
		return Principal{}, ErrTokenExpired
	}
	return found.Principal, nil
}

// GeneratedToken is a token made by GenerateTokensFile, shown once.
type GeneratedToken struct {
	Role  Role
	Token string
	Name  string
}

// GenerateTokensFile writes a tokens file with one fresh random token per
// role, holding only their digests, and returns the tokens themselves: the
// caller shows them once, and they exist nowhere else.
func GenerateTokensFile(path string) ([]GeneratedToken, error) {
	var b strings.Builder
	b.WriteString("# ROLE sha256:DIGEST NAME [expires=YYYY-MM-DD]: generated on first start; the tokens were\n")
	b.WriteString("# printed once and are not stored. Add lines (plain tokens are hashed on load) and send SIGHUP.\n")
	var out []GeneratedToken
	for _, role := range Roles {
		var raw [generatedTokenBytes]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		g := GeneratedToken{Role: role, Token: string(role) + "-" + hex.EncodeToString(raw[:]), Name: "demo-" + string(role)}
		fmt.Fprintf(&b, "%s %s %s\n", g.Role, HashToken(g.Token), g.Name)
		out = append(out, g)
	}
	if err := writeFileAtomically(path, []byte(b.String())); err != nil {
		return nil, err
	}
	return out, nil
}

// HashTokensFile rewrites a tokens file so that every plain token in it is
// replaced by its digest, keeping comments, names and expiry dates. It
// reports whether the file changed. A file that does not parse is left alone.
func HashTokensFile(path string) (changed bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("tokens: %w", err)
	}
	if _, err := parseTokens(bytes.NewReader(data)); err != nil {
		return false, fmt.Errorf("tokens %s: %w", path, err)
	}
	var out strings.Builder
	for _, text := range strings.SplitAfter(string(data), "\n") {
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			out.WriteString(text)
			continue
		}
		l, _ := splitTokenLine(trimmed) // parsed above
		if strings.HasPrefix(l.secret, hashedPrefix) {
			out.WriteString(text)
			continue
		}
		changed = true
		fields := []string{string(l.role), HashToken(l.secret)}
		if l.name != "" {
			fields = append(fields, l.name)
		}
		if l.expires != "" {
			fields = append(fields, expiresPrefix+l.expires)
		}
		out.WriteString(strings.Join(fields, " ") + "\n")
	}
	if !changed {
		return false, nil
	}
	return true, writeFileAtomically(path, []byte(out.String()))
}

// writeFileAtomically replaces a file in one rename, so that a reader
// (a reload, a crash) sees the old or the new file, never half of one.
func writeFileAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("tokens: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("tokens: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tokens: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	return nil
}

type principalKey struct{}

func principalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// allows says whether a role may use an endpoint that admits `allowed`.
func allows(role Role, allowed []Role) bool {
	for _, a := range allowed {
		if role == a {
			return true
		}
	}
	return false
}

// authenticate checks the bearer token, the role and the token's rate
// before calling next; reads of personal payment data are then audited.
func (s *Server) authenticate(allowed []Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ledger"`)
			writeProblem(w, r, &Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: "a bearer token is required"})
			return
		}
		principal, err := s.tokens.Lookup(token)
		if err != nil {
			detail := "the token is not valid"
			if errors.Is(err, ErrTokenExpired) {
				detail = "the token has expired"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="ledger", error="invalid_token"`)
			writeProblem(w, r, &Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: detail})
			return
		}
		if !s.limits.allow(w, r, principal) {
			return
		}
		if !allows(principal.Role, allowed) {
			writeProblem(w, r, &Problem{Status: http.StatusForbidden, Title: "Forbidden",
				Detail: fmt.Sprintf("role %s may not do this", principal.Role)})
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, principal))
		if !s.auditRead(w, r) {
			return
		}
		next(w, r)
	}
}
