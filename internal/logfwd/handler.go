package logfwd

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Logger returns a logger that writes every record to base's handler and
// forwards it too, at the levels base's handler enables. base should be
// a logger without attributes of its own (they are not forwarded).
func (fw *Forwarder) Logger(base *slog.Logger) *slog.Logger {
	bh := base.Handler()
	return slog.New(slog.NewMultiHandler(bh, &handler{fw: fw, enabled: bh.Enabled}))
}

// handler turns records into forward-protocol records: time, level, msg
// and the attributes as a map, groups as nested maps.
type handler struct {
	fw      *Forwarder
	enabled func(context.Context, slog.Level) bool
	// goas are the WithGroup and WithAttrs calls, in order.
	goas []groupOrAttrs
}

// groupOrAttrs is one WithGroup (group set) or WithAttrs call.
type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

// reserved are the record's own keys; a top-level attribute of the same
// name is renamed with the prefix attr_.
var reserved = map[string]bool{"time": true, "level": true, "msg": true}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.enabled(ctx, l) }

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	return h.with(groupOrAttrs{attrs: as})
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(groupOrAttrs{group: name})
}

func (h *handler) with(g groupOrAttrs) *handler {
	c := *h
	c.goas = append(slices.Clip(h.goas), g)
	return &c
}

// Handle queues the record; it never fails the log call.
func (h *handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	root := map[string]any{
		"time":  t.Format(time.RFC3339Nano),
		"level": r.Level.String(),
		"msg":   truncate(r.Message),
	}
	cur, top := root, true
	for _, g := range h.goas {
		if g.group != "" {
			m := map[string]any{}
			cur[g.group], cur, top = m, m, false
			continue
		}
		for _, a := range g.attrs {
			addAttr(cur, a, top)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(cur, a, top)
		return true
	})
	pruneEmpty(root)
	h.fw.post(t, root)
	return nil
}

// addAttr adds a to m as the text handler would show it; top says m is
// the record itself.
func addAttr(m map[string]any, a slog.Attr, top bool) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		as := a.Value.Group()
		if len(as) == 0 {
			return
		}
		dst := m
		if a.Key != "" {
			dst = map[string]any{}
			m[key(a.Key, top)] = dst
			top = false
		}
		for _, g := range as {
			addAttr(dst, g, top)
		}
		return
	}
	m[key(a.Key, top)] = value(a.Value)
}

// key renames a top-level attribute that would replace time, level or msg.
func key(k string, top bool) string {
	if top && reserved[k] {
		return "attr_" + k
	}
	return k
}

// pruneEmpty removes groups left without attributes, as slog's handlers do.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			pruneEmpty(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
		}
	}
}
