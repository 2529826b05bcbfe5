package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mlgraph/service"
	"mlgraph/store"
)

const keysUsage = `usage:
  mlgraph keys create --scope read,predict,train,admin [--name NAME] [--project PROJECT] [--rate N] [-db PATH]
  mlgraph keys list [-db PATH]
  mlgraph keys revoke [-db PATH] ID

create prints the new key's secret alone on standard output, once: only its
hash is stored. Scopes: read (queries), predict, train (datasets and
training), admin (keys, deletes, and all the others). --rate gives the key
its own limit in requests per second.
`

// runKeys is the "keys" command: it makes, lists and revokes API keys in
// the database directly, so that the first key can exist before any
// request can be authenticated. It returns the exit status.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	fs := flag.NewFlagSet("mlgraph keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage) }
	db := fs.String("db", envOr("MLGRAPH_DB", "mlgraph.db"), "SQLite database file, or postgres:// URL (env MLGRAPH_DB)")
	scopes := fs.String("scope", "", "comma-separated scopes: read, predict, train, admin")
	name := fs.String("name", "", "a name to recognise the key by (default: the scopes)")
	project := fs.String("project", store.DefaultProject, "the project whose datasets and models the key sees")
	rate := fs.Float64("rate", 0, "the key's own rate limit in requests per second (default: the server's -rate-limit)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	st, err := store.Open(*db)
	if err != nil {
		fmt.Fprintf(stderr, "open database %s: %v\n", store.RedactDSN(*db), err)
		return 1
	}
	defer st.Close()
	svc := service.New(st, service.Options{Logger: slog.New(slog.DiscardHandler)})

	switch args[0] {
	case "create":
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
			return 2
		}
		parsed, err := service.ParseScopes(*scopes)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		in := service.NewAPIKey{Name: *name, Project: *project, Scopes: parsed}
		if in.Name == "" {
			in.Name = strings.ToLower(strings.Join(parsed, ","))
		}
		if *rate != 0 {
			in.RateLimit = rate
		}
		secret, k, err := svc.CreateAPIKey(ctx, in)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "made API key %d %q of project %s with scopes %s; the secret above is shown only this once.\n",
			k.ID, k.Name, k.Project, strings.ToLower(strings.Join(k.Scopes, ",")))
		return 0
	case "list":
		keys, err := svc.APIKeys(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPROJECT\tSCOPES\tPREFIX\tRATE\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			rate := "-"
			if k.RateLimit != nil {
				rate = strconv.FormatFloat(*k.RateLimit, 'g', -1, 64) + "/s"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Project,
				strings.ToLower(strings.Join(k.Scopes, ",")), k.Prefix, rate, stamp(&k.CreatedAt), stamp(k.LastUsedAt), stamp(k.RevokedAt))
		}
		tw.Flush()
		return 0
	case "revoke":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, keysUsage)
			return 2
		}
		k, err := svc.RevokeAPIKey(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stderr, "revoked API key %d %q of project %s; running servers refuse it within 10 s.\n", k.ID, k.Name, k.Project)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown keys command %q\n%s", args[0], keysUsage)
		return 2
	}
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
