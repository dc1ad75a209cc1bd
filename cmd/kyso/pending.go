package main

import (
	"context"
	"fmt"
)

func notYet(name string) func(context.Context, stdio, []string) int {
	return func(ctx context.Context, io stdio, args []string) int {
		fmt.Fprintf(io.err, "kyso %s: not available in this build\n", name)
		return exitFail
	}
}

var runDemo = notYet("demo")
