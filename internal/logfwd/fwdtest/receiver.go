// Package fwdtest is a minimal forward-protocol receiver for tests: the
// server side of fluentd's forward input, decoding Message and Forward
// mode events with msgp (the encoder fluent-logger-golang uses).
package fwdtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// Event is one received record.
type Event struct {
	Tag    string
	Time   time.Time
	Record map[string]any
}

// Receiver accepts connections and collects the events sent on them.
type Receiver struct {
	ln net.Listener

	mu      sync.Mutex
	events  []Event
	errs    []error
	changed chan struct{}
	conns   []net.Conn
	wg      sync.WaitGroup
}

// Listen starts a receiver on network and address (tcp 127.0.0.1:0 for a
// free port).
func Listen(network, address string) (*Receiver, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("listen for forward messages: %w", err)
	}
	r := &Receiver{ln: ln, changed: make(chan struct{})}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is the address the receiver listens on.
func (r *Receiver) Addr() string { return r.ln.Addr().String() }

// Events returns the events received so far.
func (r *Receiver) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Errors returns the decoding errors seen so far.
func (r *Receiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// Wait waits until ok holds for the events received, for at most timeout,
// and returns them.
func (r *Receiver) Wait(timeout time.Duration, ok func([]Event) bool) ([]Event, error) {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		evs, ch := slices.Clone(r.events), r.changed
		r.mu.Unlock()
		if ok(evs) {
			return evs, nil
		}
		select {
		case <-ch:
		case <-deadline:
			return evs, fmt.Errorf("gave up after %s with %d events", timeout, len(evs))
		}
	}
}

// Close stops listening and closes every connection.
func (r *Receiver) Close() error {
	err := r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (r *Receiver) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.read(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.mu.Lock()
				r.errs = append(r.errs, err)
				r.mu.Unlock()
			}
		}()
	}
}

// read decodes events from c until it ends.
func (r *Receiver) read(c net.Conn) error {
	defer c.Close()
	rd := msgp.NewReader(c)
	for {
		n, err := rd.ReadArrayHeader()
		if err != nil {
			return err
		}
		if n < 2 {
			return fmt.Errorf("forward message of %d elements", n)
		}
		tag, err := rd.ReadString()
		if err != nil {
			return fmt.Errorf("tag: %w", err)
		}
		t, err := rd.NextType()
		if err != nil {
			return err
		}
		used := uint32(2)
		var evs []Event
		if t == msgp.ArrayType { // Forward mode: [tag, [[time, record], ...], option?]
			m, err := rd.ReadArrayHeader()
			if err != nil {
				return err
			}
			for range m {
				if k, err := rd.ReadArrayHeader(); err != nil || k != 2 {
					return fmt.Errorf("forward entry of %d elements: %v", k, err)
				}
				e, err := readEntry(rd, tag)
				if err != nil {
					return err
				}
				evs = append(evs, e)
			}
		} else { // Message mode: [tag, time, record, option?]
			if n < 3 {
				return fmt.Errorf("message of %d elements", n)
			}
			e, err := readEntry(rd, tag)
			if err != nil {
				return err
			}
			evs, used = append(evs, e), 3
		}
		for ; used < n; used++ {
			if err := rd.Skip(); err != nil {
				return err
			}
		}
		r.mu.Lock()
		r.events = append(r.events, evs...)
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// readEntry reads a time (integer seconds or EventTime) and a record.
func readEntry(rd *msgp.Reader, tag string) (Event, error) {
	e := Event{Tag: tag, Record: map[string]any{}}
	t, err := rd.NextType()
	if err != nil {
		return e, err
	}
	if t == msgp.ExtensionType {
		var et eventTime
		if err := rd.ReadExtension(&et); err != nil {
			return e, fmt.Errorf("event time: %w", err)
		}
		e.Time = time.Time(et)
	} else {
		s, err := rd.ReadInt64()
		if err != nil {
			return e, fmt.Errorf("time: %w", err)
		}
		e.Time = time.Unix(s, 0)
	}
	if err := rd.ReadMapStrIntf(e.Record); err != nil {
		return e, fmt.Errorf("record: %w", err)
	}
	return e, nil
}

// eventTime is the forward protocol's EventTime (extension type 0):
// seconds and nanoseconds, big-endian 32-bit each.
type eventTime time.Time

func (t *eventTime) ExtensionType() int8 { return 0 }

func (t *eventTime) Len() int { return 8 }

func (t *eventTime) MarshalBinaryTo(b []byte) error {
	u := time.Time(*t).UTC()
	s, ns := uint32(u.Unix()), uint32(u.Nanosecond())
	b[0], b[1], b[2], b[3] = byte(s>>24), byte(s>>16), byte(s>>8), byte(s)
	b[4], b[5], b[6], b[7] = byte(ns>>24), byte(ns>>16), byte(ns>>8), byte(ns)
	return nil
}

func (t *eventTime) UnmarshalBinary(b []byte) error {
	if len(b) != 8 {
		return fmt.Errorf("EventTime of %d bytes", len(b))
	}
	s := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ns := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	*t = eventTime(time.Unix(int64(s), int64(ns)))
	return nil
}

// Silent is a listener that accepts connections and never reads from
// them: an endpoint that takes nothing once the socket buffers are full.
type Silent struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

// ListenSilent starts a Silent listener on network and address.
func ListenSilent(network, address string) (*Silent, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Silent{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// Addr is the address the listener listens on.
func (s *Silent) Addr() string { return s.ln.Addr().String() }

// Accepted is the number of connections accepted so far.
func (s *Silent) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close stops listening and closes every connection.
func (s *Silent) Close() error {
	err := s.ln.Close()
	<-s.done
	s.mu.Lock()
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	return err
}
