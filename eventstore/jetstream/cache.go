package jetstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// The local cache is a copy of the stream's messages in one append-only
// file, so that replay reads a local file instead of pulling every message
// through a consumer (which tops out near 40,000 messages/s). Each record is
//
//	seq    uvarint: the message's stream sequence
//	len    uvarint
//	bytes  the message payload, exactly as in the stream
//
// The cache is not trusted: at open every record is decoded and its events
// folded through an eventstore.Loader, which checks positions, versions,
// commands and the hash chain, and the last cached message is compared byte
// for byte with the stream's (whose hash then vouches for all before it).
// A cache that fails any check is deleted and rebuilt from the stream. It is
// written behind the committer and never fsynced: a torn tail is cut off at
// open.

// Cache limits.
const (
	cacheFileName        = "events.cache"
	cacheQueuedMsgs      = 1024    // payloads waiting for the cache writer
	cacheWriteBufferLen  = 1 << 20 // bytes buffered before a write
	cacheReadBufferLen   = 1 << 20
	maxCacheRecordLen    = 8 << 20 // a record longer than this is corruption
	cacheHeaderMaxLength = 2 * binary.MaxVarintLen64
)

// cacheRecord is one message for the cache writer.
type cacheRecord struct {
	seq     uint64
	payload []byte
}

// cache appends records behind the committer and serves reads of what it has
// written.
type cache struct {
	path    string
	file    *os.File
	records chan cacheRecord
	done    chan struct{}
	err     error // set by the writer, read after done

	mu      sync.RWMutex
	offsets []int64 // offsets[seq-1]: where message seq's record starts
	size    int64   // bytes written so far
	lastSeq atomic.Uint64
	// queued is the last sequence handed to the writer; callers of add
	// serialise (only the committer and open add).
	queued uint64
	// running tells that the writer goroutine runs; only open and Close
	// start and stop it.
	running bool
}

// openCache opens (creating) the cache file in dir.
func openCache(dir string) (*cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("jetstream: cache dir: %w", err)
	}
	path := filepath.Join(dir, cacheFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jetstream: cache: %w", err)
	}
	return &cache{path: path, file: f, records: make(chan cacheRecord, cacheQueuedMsgs), done: make(chan struct{})}, nil
}

// load reads the cached records in order, calling fn with each, and cuts
// the file after the last good one. An error from fn means the cache
// disagrees with itself; the caller then resets it. The payload is valid
// only during the call.
func (c *cache) load(fn func(seq uint64, payload []byte) error) error {
	rr := newRecordReader(c.file, 0, 1<<62)
	defer rr.release()
	var off int64
	for {
		seq, payload, n, err := rr.next()
		if err != nil {
			break // end of file or a torn tail
		}
		if seq != c.lastSeq.Load()+1 {
			return fmt.Errorf("jetstream: cache record %d after %d", seq, c.lastSeq.Load())
		}
		if err := fn(seq, payload); err != nil {
			return err
		}
		c.offsets = append(c.offsets, off)
		off += n
		c.lastSeq.Store(seq)
	}
	c.size, c.queued = off, c.lastSeq.Load()
	if err := c.file.Truncate(off); err != nil {
		return fmt.Errorf("jetstream: cache truncate: %w", err)
	}
	return nil
}

// readBuffers are the read buffers of cache scans, reused from one scan
// to the next: a catch-up or a read of a few messages need not allocate a
// megabyte each.
var readBuffers = sync.Pool{New: func() any {
	b := make([]byte, cacheReadBufferLen)
	return &b
}}

// recordReader reads consecutive records of a section of the cache file
// through one buffer, which the payloads it returns alias until the next
// call: a scan copies each record once (into what the events keep)
// instead of twice, and allocates nothing per record.
type recordReader struct {
	file     *os.File
	off, end int64 // next offset to read into buf, and the section's end
	pooled   *[]byte
	buf      []byte // *pooled, or a larger one for an outsized record
	r, w     int    // the unread bytes are buf[r:w]
	err      error
}

func newRecordReader(file *os.File, start, end int64) *recordReader {
	pooled := readBuffers.Get().(*[]byte)
	return &recordReader{file: file, off: start, end: end, pooled: pooled, buf: *pooled}
}

// release returns the buffer for reuse; the reader is done.
func (rr *recordReader) release() {
	readBuffers.Put(rr.pooled)
	rr.pooled, rr.buf = nil, nil
}

// next returns the next record: its sequence, its payload (valid until the
// next call) and its length in the file. At the end of the section it
// returns io.EOF, and io.ErrUnexpectedEOF for a torn record.
func (rr *recordReader) next() (seq uint64, payload []byte, n int64, err error) {
	hdr := rr.peek(cacheHeaderMaxLength)
	if len(hdr) == 0 {
		return 0, nil, 0, errors.Join(rr.err, io.EOF)
	}
	seq, k := binary.Uvarint(hdr)
	length, l := binary.Uvarint(hdr[max(k, 0):])
	switch {
	case k < 0 || l < 0 || length > maxCacheRecordLen:
		return 0, nil, 0, errBadPayload
	case k == 0 || l == 0:
		return 0, nil, 0, errors.Join(rr.err, io.ErrUnexpectedEOF)
	}
	total := k + l + int(length)
	rec := rr.peek(total)
	if len(rec) < total {
		return 0, nil, 0, errors.Join(rr.err, io.ErrUnexpectedEOF)
	}
	rr.r += total
	return seq, rec[k+l : total : total], int64(total), nil
}

// peek returns up to n unread bytes, reading from the file when fewer are
// buffered.
func (rr *recordReader) peek(n int) []byte {
	if rr.w-rr.r < n && rr.off < rr.end && rr.err == nil {
		rr.fill(n)
	}
	return rr.buf[rr.r:min(rr.w, rr.r+n)]
}

// fill moves the unread bytes to the front of the buffer (grown to hold n
// when a record is longer) and reads the file after them.
func (rr *recordReader) fill(n int) {
	unread := copy(rr.buf, rr.buf[rr.r:rr.w])
	if n > len(rr.buf) {
		grown := make([]byte, n)
		copy(grown, rr.buf[:unread])
		rr.buf = grown
	}
	rr.r, rr.w = 0, unread
	for rr.w < len(rr.buf) && rr.off < rr.end {
		want := min(int64(len(rr.buf)-rr.w), rr.end-rr.off)
		got, err := rr.file.ReadAt(rr.buf[rr.w:rr.w+int(want)], rr.off)
		rr.w += got
		rr.off += int64(got)
		if errors.Is(err, io.EOF) {
			rr.end = rr.off
			return
		}
		if err != nil {
			rr.err = fmt.Errorf("jetstream: cache read: %w", err)
			return
		}
	}
}

func readRecord(r *bufio.Reader) (seq uint64, payload []byte, n int64, err error) {
	seq, err = binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, 0, err
	}
	length, err := binary.ReadUvarint(r)
	if err != nil || length > maxCacheRecordLen {
		return 0, nil, 0, errors.Join(err, errBadPayload)
	}
	payload = make([]byte, length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, 0, err
	}
	return seq, payload, int64(uvarintLen(seq) + uvarintLen(length) + int(length)), nil
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// start starts the writer, unless it runs. It must run before open
// catches up from the stream, which feeds it every message the cache
// lacks: more than its queue holds when the cache was lost.
func (c *cache) start() {
	if !c.running {
		c.running = true
		go c.run()
	}
}

// restart stops the writer and empties the cache, for open to start over.
func (c *cache) restart() error {
	if c.running {
		close(c.records)
		<-c.done
		c.running = false
		c.records, c.done = make(chan cacheRecord, cacheQueuedMsgs), make(chan struct{})
	}
	c.err = nil
	return c.reset()
}

// reset empties the cache.
func (c *cache) reset() error {
	c.offsets, c.size, c.queued = nil, 0, 0
	c.lastSeq.Store(0)
	if err := c.file.Truncate(0); err != nil {
		return fmt.Errorf("jetstream: cache reset: %w", err)
	}
	return nil
}

// run writes queued records until the queue is closed. A write error stops
// the cache from growing; the store goes on reading from the stream.
func (c *cache) run() {
	defer close(c.done)
	w := bufio.NewWriterSize(io.NewOffsetWriter(c.file, c.size), cacheWriteBufferLen)
	var pending []cacheRecord
	for rec := range c.records {
		pending = append(pending, rec)
		if len(c.records) > 0 && w.Available() > len(rec.payload)+cacheHeaderMaxLength {
			c.write(w, rec)
			continue
		}
		c.write(w, rec)
		c.flush(w, pending)
		pending = pending[:0]
	}
	c.flush(w, pending)
}

func (c *cache) write(w *bufio.Writer, rec cacheRecord) {
	if c.err != nil {
		return
	}
	var hdr [cacheHeaderMaxLength]byte
	n := binary.PutUvarint(hdr[:], rec.seq)
	n += binary.PutUvarint(hdr[n:], uint64(len(rec.payload)))
	w.Write(hdr[:n])
	w.Write(rec.payload)
}

// flush makes the pending records readable.
func (c *cache) flush(w *bufio.Writer, pending []cacheRecord) {
	if c.err != nil || len(pending) == 0 {
		return
	}
	if c.err = w.Flush(); c.err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rec := range pending {
		c.offsets = append(c.offsets, c.size)
		c.size += int64(uvarintLen(rec.seq) + uvarintLen(uint64(len(rec.payload))) + len(rec.payload))
	}
	c.lastSeq.Store(pending[len(pending)-1].seq)
}

// add queues a durable message for the cache. Messages must come in
// order; one already queued is ignored, and after a gap the cache stops
// growing (reads then come from the stream).
func (c *cache) add(seq uint64, payload []byte) {
	if seq != c.queued+1 {
		if seq > c.queued {
			c.queued = ^uint64(0) - 1 // accept nothing more
		}
		return
	}
	c.queued = seq
	c.records <- cacheRecord{seq: seq, payload: payload}
}

// close stops the writer and closes the file.
func (c *cache) close() error {
	close(c.records)
	if c.running {
		<-c.done
	}
	return errors.Join(c.err, c.file.Close())
}

// scan calls fn with the cached messages from seq `from` to `last` (both
// cached), reading the file sequentially. The payload is valid only during
// the call.
func (c *cache) scan(from, last uint64, fn func(seq uint64, payload []byte) error) error {
	c.mu.RLock()
	start, end := c.offsets[from-1], c.size
	if int(last) < len(c.offsets) {
		end = c.offsets[last]
	}
	c.mu.RUnlock()
	rr := newRecordReader(c.file, start, end)
	defer rr.release()
	for want := from; want <= last; want++ {
		seq, payload, _, err := rr.next()
		if err != nil {
			return fmt.Errorf("jetstream: cache read at %d: %w", want, err)
		}
		if seq != want {
			return fmt.Errorf("jetstream: cache holds %d where %d belongs", seq, want)
		}
		if err := fn(seq, payload); err != nil {
			return err
		}
	}
	return nil
}

// read returns one cached message's payload.
func (c *cache) read(seq uint64) ([]byte, error) {
	c.mu.RLock()
	start, end := c.offsets[seq-1], c.size
	if int(seq) < len(c.offsets) {
		end = c.offsets[seq]
	}
	c.mu.RUnlock()
	r := bufio.NewReaderSize(io.NewSectionReader(c.file, start, end-start), int(min(end-start, cacheReadBufferLen)))
	got, payload, _, err := readRecord(r)
	if err == nil && got != seq {
		err = fmt.Errorf("cache holds %d where %d belongs", got, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: cache read %d: %w", seq, err)
	}
	return payload, nil
}
