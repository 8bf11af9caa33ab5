package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestGracefulShutdownKeepsEveryAcknowledgedCommand stops the server (what
// SIGTERM does through the signal context) while 32 clients are posting:
// every command answered 201 is in the log after a restart.
func TestGracefulShutdownKeepsEveryAcknowledgedCommand(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	seedCity(s)
	url := s.m.URL()
	var mu sync.Mutex
	var acknowledged []string
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("shutdown-%d-%d", c, i)
				req, _ := http.NewRequest("POST", url+"/v1/funds/AK-EMP/allocations",
					strings.NewReader(`{"amount":"1.00","date":"2017-02-01","document":"x"}`))
				req.Header.Set("Authorization", "Bearer "+officer)
				req.Header.Set("Idempotency-Key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server has gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					mu.Lock()
					acknowledged = append(acknowledged, key)
					mu.Unlock()
				}
				if i == 20 && c == 0 {
					go s.stop()
				}
			}
		})
	}
	wg.Wait()
	s.stop()
	if len(acknowledged) == 0 {
		t.Fatal("no command was acknowledged before the shutdown")
	}

	restarted := startServer(t, data)
	inLog := map[string]int{}
	after := 0
	for {
		page := restarted.must(200, "GET", fmt.Sprintf("/v1/events?after=%d&limit=1000", after), auditor, nil)
		events := page.body["events"].([]any)
		if len(events) == 0 {
			break
		}
		for _, raw := range events {
			meta := raw.(map[string]any)["metadata"].(map[string]any)
			inLog[meta["command_id"].(string)]++
		}
		after = int(page.body["next_after"].(float64))
	}
	for _, key := range acknowledged {
		if n := inLog["officer-wang/"+key]; n != 1 {
			t.Errorf("acknowledged command %s is in the log %d times", key, n)
		}
	}
	t.Logf("%d commands acknowledged before the shutdown, all in the log once", len(acknowledged))
}
