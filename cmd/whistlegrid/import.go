package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// importCommand runs `whistlegrid import KIND ...`; each importer's file
// registers itself in importCommands from an init function, so the
// dispatch stays one line in main.go.
type importCommand func(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error

var importCommands = map[string]importCommand{}

func cmdImport(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	kinds := make([]string, 0, len(importCommands))
	for k := range importCommands {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if len(args) == 0 {
		return fmt.Errorf("usage: whistlegrid import %s FILE [flags]", strings.Join(kinds, "|"))
	}
	cmd, ok := importCommands[args[0]]
	if !ok {
		return fmt.Errorf("unknown import %q: use %s", args[0], strings.Join(kinds, ", "))
	}
	return cmd(ctx, args[1:], c, log, stdout)
}
