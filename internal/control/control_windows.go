package control

import (
	"context"
	"errors"
	"net"
)

// ErrUnsupported says that Windows has no control pipe yet.
var ErrUnsupported = errors.New("akvvm sync --now is not supported on Windows yet: restart the service (akvvm service stop, then akvvm service start) to check every certificate now")

// Listen is not supported on Windows yet.
func Listen(string) (net.Listener, error) { return nil, ErrUnsupported }

func dial(context.Context, string) (net.Conn, error) { return nil, ErrUnsupported }

func allowed(net.Conn) error { return ErrUnsupported }
