package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"mlgraph/internal/childserver"
)

// server is the mlgraph child process under test.
type server struct {
	*childserver.Server
	url, key string // the GraphQL endpoint, and the API key to send
}

// launch builds the server into dir, creates its API keys when o.auth is
// set, and starts it on a free loopback port. It returns the
// rate-limited key for the abuser, if any.
func launch(ctx context.Context, o options, dir string) (*server, string, error) {
	bin, err := childserver.Build(ctx, dir)
	if err != nil {
		return nil, "", err
	}
	db := filepath.Join(dir, "load.db")
	args := []string{"-db", db, "-log-format", "json", "-workers", "2"}
	var key, abuseKey string
	if o.auth {
		if key, err = createKey(ctx, bin, db, "loadtest", "read,predict,train,admin", 0); err != nil {
			return nil, "", err
		}
		if o.abuser {
			if abuseKey, err = createKey(ctx, bin, db, "loadtest-abuser", "read", 5); err != nil {
				return nil, "", fmt.Errorf("%w\n(run with -abuser=false or -auth=false)", err)
			}
		}
		args = append(args, "-auth=required")
	} else {
		args = append(args, "-auth=off")
	}
	child, err := childserver.Start(filepath.Join(dir, "server.log"), func(addr string) *exec.Cmd {
		return exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	})
	if err != nil {
		return nil, "", err
	}
	return &server{Server: child, url: child.URL + "/query", key: key}, abuseKey, nil
}

// logTail is the end of the server's log; nothing for a server not
// started here (-url).
func (s *server) logTail(n int) string {
	if s == nil {
		return ""
	}
	return s.LogTail(n)
}

// createKey runs `mlgraph keys create`, which prints the secret key alone
// on the first line of stdout.
func createKey(ctx context.Context, bin, db, name, scopes string, rate int) (string, error) {
	args := []string{"keys", "create", "-db", db, "--scope", scopes, "--project", "load", "--name", name}
	if rate > 0 {
		args = append(args, "--rate", strconv.Itoa(rate))
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	first, _, _ := strings.Cut(string(out), "\n")
	if key := strings.TrimSpace(first); err == nil && key != "" {
		return key, nil
	}
	return "", fmt.Errorf("creating an API key: mlgraph %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
}

var lockPatterns = []string{"database is locked", "sqlite_busy", "database table is locked"}

func mentionsLock(text string) bool {
	text = strings.ToLower(text)
	return slices.ContainsFunc(lockPatterns, func(p string) bool { return strings.Contains(text, p) })
}

// scanLog counts the log lines that mention SQLite lock contention and
// keeps the first three.
func scanLog(path string) (count int, samples []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if mentionsLock(sc.Text()) {
			if count++; count <= 3 {
				samples = append(samples, sc.Text())
			}
		}
	}
	return count, samples, sc.Err()
}
