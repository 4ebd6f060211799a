package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/akvvm/akvvm/internal/config"
	"github.com/akvvm/akvvm/internal/doctor"
	"github.com/akvvm/akvvm/internal/store"
)

// doctorStore checks that a Windows certificate store opens, by listing
// what akvvm installed of the certificate there.
func doctorStore(log *slog.Logger) func(context.Context, config.Certificate) doctor.Result {
	return func(ctx context.Context, c config.Certificate) doctor.Result {
		check := "store " + c.StoreLocation + `\` + c.StoreName
		st, err := newStore(log)
		if err != nil {
			return doctor.Result{Outcome: doctor.Fail, Check: check, Detail: err.Error()}
		}
		t := store.Target{Location: c.StoreLocation, StoreName: c.StoreName}
		installed, err := st.List(ctx, t, store.Ref{Vault: c.URL.Vault, Name: c.URL.Name})
		if err != nil {
			return doctor.Result{Outcome: doctor.Fail, Check: check, Detail: "cannot be opened: " + err.Error(),
				Fix: "run akvvm as an administrator or as LocalSystem (the service does) for LocalMachine stores"}
		}
		return doctor.Result{Outcome: doctor.Pass, Check: check, Detail: fmt.Sprintf("opened; %d version(s) of %s installed by akvvm", len(installed), c.URL.Name)}
	}
}
