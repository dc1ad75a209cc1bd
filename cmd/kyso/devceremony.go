package main

import "context"

// devCeremony runs the dev key ceremony when it has not run yet.
func devCeremony(ctx context.Context, io stdio, e *env) error {
	return nil
}
