package logfwd

import (
	"encoding"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
)

// value renders a resolved, non-group value for the forward protocol:
// numbers and booleans as themselves, everything else as the string the
// text handler writes. Values of type error or any never reach the
// encoder as they are, so no field the text log does not show is sent.
func value(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return truncate(v.String())
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		return v.Float64()
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	default:
		return truncate(anyText(v.Any()))
	}
}

// anyText is the text handler's rendering of a KindAny value.
func anyText(a any) string {
	if tm, ok := a.(encoding.TextMarshaler); ok {
		data, err := tm.MarshalText()
		if err != nil {
			return "!ERROR:" + err.Error()
		}
		return string(data)
	}
	if bs, ok := byteSlice(a); ok {
		return string(bs)
	}
	return fmt.Sprintf("%+v", a)
}

// byteSlice reports whether a is a []byte or a named byte slice type.
func byteSlice(a any) ([]byte, bool) {
	if bs, ok := a.([]byte); ok {
		return bs, true
	}
	t := reflect.TypeOf(a)
	if t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return reflect.ValueOf(a).Bytes(), true
	}
	return nil, false
}

// truncate bounds s to MaxValue bytes of valid UTF-8.
func truncate(s string) string {
	if len(s) <= MaxValue {
		return s
	}
	return strings.ToValidUTF8(s[:MaxValue], "") + "…(truncated)"
}
