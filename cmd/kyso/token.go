package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kyso/hsm"
)

func runToken(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "token", args, map[string]command{
		"init": {"initialise the configured token; PINs come from files, never argv", tokenInit},
	})
}

func tokenInit(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("token init", io.err)
	configPath := fs.String("config", "", "configuration file")
	soPINFile := fs.String("so-pin-file", "", "file holding the security officer PIN (created with a random PIN if missing)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	cfg, err := loadConfig(*configPath, io)
	if err != nil {
		return fail(io.err, "token init", err)
	}
	if *soPINFile == "" {
		*soPINFile = filepath.Join(filepath.Dir(cfg.HSM.PINFile), "so.pin")
	}
	created, err := initToken(cfg.HSM.Module, cfg.HSM.TokenLabel, cfg.HSM.PINFile, cfg.HSM.PINEnv, *soPINFile)
	if err != nil {
		return fail(io.err, "token init", err)
	}
	if created {
		fmt.Fprintf(io.out, "initialised token %q\n", cfg.HSM.TokenLabel)
	} else {
		fmt.Fprintf(io.out, "token %q already initialised\n", cfg.HSM.TokenLabel)
	}
	return exitOK
}

// initToken makes sure the token exists, creating random PIN files when
// they are missing. It reports whether it initialised the token.
func initToken(module, label, pinFile, pinEnv, soPINFile string) (bool, error) {
	userPIN, err := hsm.LoadPIN(pinFile, pinEnv)
	if err != nil {
		if pinFile == "" {
			return false, err
		}
		if userPIN, err = writeRandomPIN(pinFile); err != nil {
			return false, err
		}
	}
	soPIN, err := hsm.LoadPIN(soPINFile, "")
	if err != nil {
		if soPIN, err = writeRandomPIN(soPINFile); err != nil {
			return false, err
		}
	}
	err = hsm.InitToken(module, label, soPIN, userPIN)
	if errors.Is(err, hsm.ErrTokenExists) {
		return false, nil
	}
	return err == nil, err
}

func writeRandomPIN(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		b, err := os.ReadFile(path)
		return strings.TrimSpace(string(b)), err
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	pin := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(pin+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write PIN file: %w", err)
	}
	return pin, nil
}
