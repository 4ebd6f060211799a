package control

import (
	"context"
	"net"
)

// Listen is not supported on Windows yet.
func Listen(string) (net.Listener, error) { return nil, ErrUnsupported }

func dial(context.Context, string) (net.Conn, error) { return nil, ErrUnsupported }

func allowed(net.Conn) error { return ErrUnsupported }
