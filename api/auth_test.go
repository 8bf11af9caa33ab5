package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTokensFileLines(t *testing.T) {
	hashed := HashToken("s3cret")
	accepted := []struct {
		name, line, token string
		want              Principal
	}{
		{"a plain token with a name", "officer s3cret officer-wang", "s3cret", Principal{RoleOfficer, "officer-wang"}},
		{"a plain token without a name acts as its role", "viewer s3cret", "s3cret", Principal{RoleViewer, "viewer"}},
		{"a hashed token with a name", "approver " + hashed + " approver-li", "s3cret", Principal{RoleApprover, "approver-li"}},
		{"a hashed token with an expiry date", "auditor " + hashed + " auditor-zhao expires=2999-01-01", "s3cret", Principal{RoleAuditor, "auditor-zhao"}},
		{"an expiry date before the name", "auditor " + hashed + " expires=2999-01-01 auditor-zhao", "s3cret", Principal{RoleAuditor, "auditor-zhao"}},
		{"a digest in upper-case hex", "officer sha256:" + strings.ToUpper(strings.TrimPrefix(hashed, "sha256:")), "s3cret", Principal{RoleOfficer, "officer"}},
	}
	for _, c := range accepted {
		t.Run("it accepts "+c.name, func(t *testing.T) {
			tokens, err := ParseTokens(strings.NewReader(c.line))
			if err != nil {
				t.Fatalf("ParseTokens(%q): %v", c.line, err)
			}
			got, err := tokens.Lookup(c.token)
			if err != nil || got != c.want {
				t.Errorf("Lookup = %v, %v; want %v", got, err, c.want)
			}
		})
	}
	refused := []struct{ name, line string }{
		{"an unknown role", "admin s3cret"},
		{"a line without a token", "officer"},
		{"a digest of the wrong length", "officer sha256:abcd name"},
		{"a digest that is not hex", "officer sha256:" + strings.Repeat("zz", 32)},
		{"two names", "officer s3cret a b"},
		{"two expiry dates", "officer s3cret expires=2030-01-01 expires=2031-01-01"},
		{"an expiry that is not a date", "officer s3cret name expires=2030-02-30"},
		{"too many fields", "officer s3cret a expires=2030-01-01 b"},
	}
	for _, c := range refused {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			if _, err := ParseTokens(strings.NewReader(c.line)); err == nil {
				t.Errorf("ParseTokens(%q) = nil error, want one", c.line)
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	tokens, err := ParseTokens(strings.NewReader("officer tok-old officer-wang expires=2026-01-01\nviewer tok-forever"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		now   time.Time
		token string
		want  error
	}{
		{"a token is accepted the day before its expiry date", time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), "tok-old", nil},
		{"a token is refused from its expiry date on", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "tok-old", ErrTokenExpired},
		{"a token without a date never expires", time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), "tok-forever", nil},
		{"an unknown token is unknown, not expired", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "tok-nope", ErrTokenUnknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tokens.SetClock(func() time.Time { return c.now })
			if _, err := tokens.Lookup(c.token); !errors.Is(err, c.want) {
				t.Errorf("Lookup(%s) at %v: got %v, want %v", c.token, c.now, err, c.want)
			}
		})
	}
	t.Run("an expired token answers 401 saying so", func(t *testing.T) {
		tokens.SetClock(func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) })
		s := NewServer(Config{Tokens: tokens})
		req := httptest.NewRequest(http.MethodGet, "/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer tok-old")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "expired") {
			t.Errorf("got %d %s, want 401 naming the expiry", rec.Code, rec.Body)
		}
	})
}

func writeTokens(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTokensReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	writeTokens(t, path, "officer tok-a officer-wang\n")
	tokens, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	writeTokens(t, path, "officer tok-b officer-wang\n")
	if err := tokens.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	t.Run("a rotated-out token is refused after a reload", func(t *testing.T) {
		if _, err := tokens.Lookup("tok-a"); !errors.Is(err, ErrTokenUnknown) {
			t.Errorf("Lookup(tok-a) = %v, want ErrTokenUnknown", err)
		}
	})
	t.Run("a rotated-in token is accepted after a reload", func(t *testing.T) {
		if p, err := tokens.Lookup("tok-b"); err != nil || p.Name != "officer-wang" {
			t.Errorf("Lookup(tok-b) = %v, %v", p, err)
		}
	})
	t.Run("a broken file keeps the tokens in force", func(t *testing.T) {
		writeTokens(t, path, "officer tok-c officer-wang\nsuperuser tok-d\n")
		if err := tokens.Reload(); err == nil {
			t.Error("Reload of a broken file = nil error, want one")
		}
		if _, err := tokens.Lookup("tok-b"); err != nil {
			t.Errorf("Lookup(tok-b) after a failed reload = %v, want nil", err)
		}
		if _, err := tokens.Lookup("tok-c"); err == nil {
			t.Error("a token of the broken file was accepted")
		}
	})
}

func TestHashTokensFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	original := "# operators\nofficer tok-plain officer-wang expires=2999-01-01\napprover " + HashToken("tok-hashed") + " approver-li\n\nviewer tok-screen\n"
	writeTokens(t, path, original)
	changed, err := HashTokensFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("it reports a change", func(t *testing.T) {
		if !changed {
			t.Error("changed = false, want true")
		}
	})
	t.Run("no plain token is left in the file", func(t *testing.T) {
		for _, plain := range []string{"tok-plain", "tok-screen", "tok-hashed"} {
			if strings.Contains(string(data), plain) {
				t.Errorf("the file still holds %s:\n%s", plain, data)
			}
		}
	})
	t.Run("comments, names and expiry dates are kept", func(t *testing.T) {
		for _, kept := range []string{"# operators\n", "officer-wang expires=2999-01-01", "approver-li"} {
			if !strings.Contains(string(data), kept) {
				t.Errorf("the file lost %q:\n%s", kept, data)
			}
		}
	})
	t.Run("every token still works with its principal", func(t *testing.T) {
		tokens, err := LoadTokens(path)
		if err != nil {
			t.Fatal(err)
		}
		for token, want := range map[string]Principal{"tok-plain": {RoleOfficer, "officer-wang"},
			"tok-hashed": {RoleApprover, "approver-li"}, "tok-screen": {RoleViewer, "viewer"}} {
			if got, err := tokens.Lookup(token); err != nil || got != want {
				t.Errorf("Lookup(%s) = %v, %v; want %v", token, got, err, want)
			}
		}
	})
	t.Run("a second pass changes nothing", func(t *testing.T) {
		if changed, err := HashTokensFile(path); err != nil || changed {
			t.Errorf("HashTokensFile again = %v, %v; want false, nil", changed, err)
		}
	})
	t.Run("a broken file is left alone", func(t *testing.T) {
		broken := filepath.Join(t.TempDir(), "tokens")
		writeTokens(t, broken, "officer tok-x\nroot tok-y\n")
		if _, err := HashTokensFile(broken); err == nil {
			t.Error("HashTokensFile of a broken file = nil error, want one")
		}
		if data, _ := os.ReadFile(broken); string(data) != "officer tok-x\nroot tok-y\n" {
			t.Errorf("the broken file changed: %q", data)
		}
	})
}

func TestGenerateTokensFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	generated, err := GenerateTokensFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("one token per role", func(t *testing.T) {
		if got, want := len(generated), len(Roles); got != want || tokens.Len() != want {
			t.Errorf("generated %d, file holds %d, want %d", got, tokens.Len(), want)
		}
	})
	for _, g := range generated {
		t.Run("the "+string(g.Role)+" token is not on disk but is accepted", func(t *testing.T) {
			if strings.Contains(string(data), g.Token) {
				t.Errorf("the file holds the plain token %s", g.Token)
			}
			if got, err := tokens.Lookup(g.Token); err != nil || got.Role != g.Role || got.Name != g.Name {
				t.Errorf("Lookup = %v, %v; want %s %s", got, err, g.Role, g.Name)
			}
		})
	}
	t.Run("the file is readable by its owner only", func(t *testing.T) {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("mode = %v, want 0600", got)
		}
	})
}
