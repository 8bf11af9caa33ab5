package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childArgsEnv, when set, makes this test binary a `ledger` process running
// the arguments it holds (separated by childArgsSep): the crash and disk
// tests kill a real server process, not a goroutine.
const (
	childArgsEnv      = "LEDGER_TEST_CHILD_ARGS"
	childArgsSep      = "\x1f"
	childReadyTimeout = 5 * time.Minute
)

// TestLedgerChild is the entry point of a child process; run directly it
// only checks that it was not asked to be one.
func TestLedgerChild(t *testing.T) {
	args := os.Getenv(childArgsEnv)
	if args == "" {
		t.Skip("runs only as the child process of the crash and disk tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, strings.Split(args, childArgsSep), os.Stdout, os.Stderr))
}

// child is a `ledger serve` process on a fixed loopback address.
type child struct {
	t      testing.TB
	cmd    *exec.Cmd
	url    string
	logs   *os.File
	exited chan struct{} // closed once the process is reaped
}

// freeAddr returns a loopback address with a port free now, so that a
// restarted server answers at the same URL.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeTokens writes the test tokens to a file and returns its path.
func writeTokens(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(testTokens), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startChild starts `ledger serve` with args in a child process and waits
// until it answers /healthz.
func startChild(t testing.TB, addr string, args ...string) *child {
	t.Helper()
	return startChildEnv(t, nil, addr, args...)
}

// startChildEnv is startChild with env added to the child's environment.
func startChildEnv(t testing.TB, env []string, addr string, args ...string) *child {
	t.Helper()
	logs, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerChild$")
	all := append([]string{"serve", "--listen", addr}, args...)
	cmd.Env = append(append(os.Environ(), env...), childArgsEnv+"="+strings.Join(all, childArgsSep))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, url: "http://" + addr, logs: logs, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.kill)
	deadline := time.Now().Add(childReadyTimeout)
	for {
		resp, err := http.Get(c.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		if time.Now().After(deadline) || c.done() {
			c.kill()
			t.Fatalf("ledger serve not ready after %v: %s", childReadyTimeout, c.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the child as an operator would (SIGTERM: drain, snapshot,
// close) and waits at most timeout for it to exit.
func (c *child) stop(timeout time.Duration) {
	c.t.Helper()
	if c.done() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(timeout):
		c.kill()
		c.t.Fatalf("ledger serve still running %v after SIGTERM: %s", timeout, c.output())
	}
}

// kill ends the child with SIGKILL (no shutdown of any kind) and reaps it.
func (c *child) kill() {
	if !c.done() {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-c.exited
}

// done reports whether the process has ended.
func (c *child) done() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// output returns what the child logged.
func (c *child) output() string {
	data, _ := os.ReadFile(c.logs.Name())
	return string(data)
}
