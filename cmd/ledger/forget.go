package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/hrss-ledger/ledger/api/vault"
)

// runForget destroys a person's key: the sealed name and ID number in the
// log become unreadable for good, while every amount stays auditable under
// the pseudonymous beneficiary id.
func runForget(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("forget")
	dataDir := fs.String("data", "./data", "data directory (its keys/ folder holds the vault)")
	id := fs.String("beneficiary", "", "beneficiary id to forget")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *id == "" {
		return fmt.Errorf("%w: --beneficiary is required", errUsage)
	}
	v, err := vault.Open(filepath.Join(*dataDir, "keys"))
	if err != nil {
		return err
	}
	if err := v.Forget(*id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "forgot beneficiary %s: its personal data can no longer be decrypted\n", *id)
	return nil
}
