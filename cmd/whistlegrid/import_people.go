package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"whistlegrid/ingest"
)

func init() { importCommands["people"] = cmdImportPeople }

// cmdImportPeople: whistlegrid import people FILE.xlsx [--dry-run] [--json].
func cmdImportPeople(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("import people", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "check and print the report; write nothing")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	file, err := parseFileArgs(fs, args)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	rep, err := ingest.ImportPeople(ctx, pool, f, ingest.PeopleOptions{DryRun: *dry})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		ingest.WritePeopleReport(stdout, rep)
	}
	if len(rep.Bad) > 0 {
		return fmt.Errorf("%d problems in the roster; nothing written", len(rep.Bad))
	}
	return nil
}
