package api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
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

// Principal is who made a request.
type Principal struct {
	Role Role
	Name string // recorded as the actor of each event
}

type credential struct {
	digest [sha256.Size]byte
	Principal
}

// Tokens holds the accepted bearer tokens, hashed: the plain token is never
// kept in memory after loading, and comparison is in constant time.
type Tokens struct {
	mu    sync.RWMutex
	creds []credential
}

// LoadTokens reads a tokens file: one `ROLE TOKEN [NAME]` per line, # comments.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	t := &Tokens{}
	if err := t.parse(f); err != nil {
		return nil, fmt.Errorf("tokens %s: %w", path, err)
	}
	return t, nil
}

// ParseTokens reads tokens in the file format from r.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	return t, t.parse(r)
}

func (t *Tokens) parse(r io.Reader) error {
	var creds []credential
	scanner := bufio.NewScanner(r)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) < 2 || len(fields) > 3 {
			return fmt.Errorf("line %d: want ROLE TOKEN [NAME]", line)
		}
		role := Role(fields[0])
		if !validRole(role) {
			return fmt.Errorf("line %d: unknown role %q", line, fields[0])
		}
		name := string(role)
		if len(fields) == 3 {
			name = fields[2]
		}
		creds = append(creds, credential{digest: sha256.Sum256([]byte(fields[1])), Principal: Principal{Role: role, Name: name}})
	}
	if err := scanner.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	t.creds = creds
	t.mu.Unlock()
	return nil
}

func validRole(r Role) bool {
	switch r {
	case RoleOfficer, RoleApprover, RoleAuditor, RoleViewer:
		return true
	}
	return false
}

// Lookup returns the principal of a bearer token. Every credential is
// compared, so the time taken does not tell which one matched.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	digest := sha256.Sum256([]byte(token))
	t.mu.RLock()
	defer t.mu.RUnlock()
	var found Principal
	ok := 0
	for _, c := range t.creds {
		match := subtle.ConstantTimeCompare(digest[:], c.digest[:])
		if match == 1 {
			found = c.Principal
		}
		ok |= match
	}
	return found, ok == 1
}

type principalKey struct{}

func principalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// allows says whether a role may use an endpoint that admits `allowed`.
// The approver may also do what an officer does; the auditor reads what a
// viewer reads.
func allows(role Role, allowed []Role) bool {
	for _, a := range allowed {
		if role == a {
			return true
		}
	}
	return false
}

// authenticate checks the bearer token and the role before calling next.
func (s *Server) authenticate(allowed []Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ledger"`)
			writeProblem(w, r, &Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: "a bearer token is required"})
			return
		}
		principal, ok := s.tokens.Lookup(token)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ledger", error="invalid_token"`)
			writeProblem(w, r, &Problem{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: "the token is not valid"})
			return
		}
		if !allows(principal.Role, allowed) {
			writeProblem(w, r, &Problem{Status: http.StatusForbidden, Title: "Forbidden",
				Detail: fmt.Sprintf("role %s may not do this", principal.Role)})
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal)))
	}
}
