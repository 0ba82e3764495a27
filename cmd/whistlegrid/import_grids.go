package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"whistlegrid/ingest"
)

func init() { importCommands["grids"] = cmdImportGrids }

// cmdImportGrids: whistlegrid import grids FILE [--level L] [--datum
// wgs84|cgcs2000|gcj02] [--encoding CP936] [--dry-run] [--json]. Running
// servers refresh their placement index on the commit's NOTIFY.
func cmdImportGrids(ctx context.Context, args []string, c config, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("import grids", flag.ContinueOnError)
	level := fs.String("level", "", "every feature must be at this level (district, township, zone, village, household)")
	datum := fs.String("datum", "", "the file's datum: wgs84, cgcs2000 or gcj02 (default: the file's .prj / crs, else wgs84)")
	encoding := fs.String("encoding", "", "the .dbf encoding when the zip has no .cpg (default CP936, i.e. GBK)")
	dry := fs.Bool("dry-run", false, "check and print the report; write nothing")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	file, err := parseFileArgs(fs, args)
	if err != nil {
		return err
	}
	pool, err := openMigrated(ctx, c, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	rep, err := ingest.ImportGrids(ctx, pool, file, ingest.GridOptions{Level: *level, Datum: *datum, Encoding: *encoding, DryRun: *dry})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	ingest.WriteGridReport(stdout, rep)
	if rep.Totals[ingest.OutcomeRefused] > 0 && !*dry {
		return fmt.Errorf("%d features refused (the others were written)", rep.Totals[ingest.OutcomeRefused])
	}
	return nil
}

// parseFileArgs parses flags placed before or after the one FILE argument.
func parseFileArgs(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if len(rest) >= 1 {
		if err := fs.Parse(rest[1:]); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			return rest[0], nil
		}
	}
	return "", errors.New("exactly one FILE is required: whistlegrid import " + fs.Name()[len("import "):] + " FILE [flags]")
}
