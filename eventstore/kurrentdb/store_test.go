package kurrentdb

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		address  string
		insecure bool
		discover bool
	}{
		{"the client's own scheme", "esdb://127.0.0.1:2113?tls=false", "127.0.0.1:2113", true, false},
		{"KurrentDB's scheme", "kurrentdb://db.example:2113", "db.example:2113", false, false},
		{"KurrentDB's short scheme with discovery", "kdb+discover://cluster.example:2113?tls=false", "cluster.example:2113", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := parseURL(tt.url)
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tt.url, err)
			}
			if conf.Address != tt.address || conf.DisableTLS != tt.insecure || conf.DnsDiscover != tt.discover {
				t.Errorf("got address %s, insecure %v, discover %v; want %s, %v, %v",
					conf.Address, conf.DisableTLS, conf.DnsDiscover, tt.address, tt.insecure, tt.discover)
			}
		})
	}
	if _, err := parseURL("nats://127.0.0.1:4222"); err == nil {
		t.Error("parseURL accepted a NATS URL")
	}
}

func TestUnsafeMetadata(t *testing.T) {
	tests := []struct {
		name   string
		set    func(*esdb.StreamMetadata)
		unsafe bool
	}{
		{"a stream without metadata is safe", func(*esdb.StreamMetadata) {}, false},
		{"an ACL alone is safe", func(m *esdb.StreamMetadata) { m.SetAcl(esdb.Acl{}) }, false},
		{"a maximum count can drop events", func(m *esdb.StreamMetadata) { m.SetMaxCount(1000) }, true},
		{"a maximum age can drop events", func(m *esdb.StreamMetadata) { m.SetMaxAge(24 * time.Hour) }, true},
		{"a truncation point (a soft delete) drops events", func(m *esdb.StreamMetadata) { m.SetTruncateBefore(3) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var meta esdb.StreamMetadata
			tt.set(&meta)
			err := unsafeMetadata(DefaultStream, &meta)
			if got := errors.Is(err, eventstore.ErrUnsafeStream); got != tt.unsafe {
				t.Errorf("unsafeMetadata = %v, want unsafe %v", err, tt.unsafe)
			}
		})
	}
}

func TestRunsOfConsecutivePositions(t *testing.T) {
	tests := []struct {
		name      string
		positions []eventstore.Position
		want      string
	}{
		{"no positions make no runs", nil, "[]"},
		{"one position is one run", []eventstore.Position{4}, "[[4]]"},
		{"consecutive positions are one run", []eventstore.Position{4, 5, 6}, "[[4 5 6]]"},
		{"gaps split runs", []eventstore.Position{1, 2, 5, 7, 8}, "[[1 2] [5] [7 8]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(runs(tt.positions)); got != tt.want {
				t.Errorf("runs(%v) = %s, want %s", tt.positions, got, tt.want)
			}
		})
	}
}

func TestChunksKeepEachAppendWithinTheLimits(t *testing.T) {
	request := func(events, bytes int) *appendRequest {
		c := eventstore.Commit{CommandID: "c"}
		for range events {
			c.Events = append(c.Events, eventstore.Event{Stream: "s", Type: "t", Data: []byte(strings.Repeat("x", bytes/events))})
		}
		return &appendRequest{commit: c}
	}
	half := eventstore.MaxBatchBytes/2 - 100 // two fit, with their envelopes
	tests := []struct {
		name  string
		group []*appendRequest
		want  []int // requests per chunk
	}{
		{"small commits share one append", []*appendRequest{request(1, 100), request(2, 100), request(3, 100)}, []int{3}},
		{"bytes over the limit start a new append", []*appendRequest{request(1, half), request(1, half), request(1, 300)}, []int{2, 1}},
		{"events over the limit start a new append", []*appendRequest{request(eventstore.MaxBatchEvents, 4096), request(1, 10)}, []int{1, 1}},
		{"a commit over the limits goes alone, to be refused", []*appendRequest{request(1, 10), request(1, 2*eventstore.MaxBatchBytes), request(1, 10)}, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, chunk := range chunks(tt.group) {
				got = append(got, len(chunk))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("chunk sizes %v, want %v", got, tt.want)
			}
		})
	}
}
