package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long the server gets after SIGTERM: it lets requests
// in flight finish and gives running trainings 30 s before closing.
const stopGrace = 45 * time.Second

// server is the mlgraph child process under test.
type server struct {
	cmd               *exec.Cmd
	url, key, logPath string
	exited            chan struct{}
	stopOnce          sync.Once
	stopNote          string
}

// launch builds the server into dir, creates its API keys when o.auth is
// set, and starts it on a free loopback port. It returns the
// rate-limited key for the abuser, if any.
func launch(ctx context.Context, o options, dir string) (*server, string, error) {
	bin, db := filepath.Join(dir, "mlgraph"), filepath.Join(dir, "load.db")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	gomod, _ := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if mod := strings.TrimSpace(string(gomod)); mod != "" && mod != os.DevNull {
		build.Dir = filepath.Dir(mod) // else the working directory
	}
	if out, err := build.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("building the server (run loadtest in the mlgraph repository): %v\n%s", err, out)
	}
	args := []string{"-db", db, "-log-format", "json", "-workers", "2"}
	var key, abuseKey string
	var err error
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	s := &server{cmd: cmd, url: "http://" + addr + "/query", key: key, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.stopNote = "stopped cleanly on SIGTERM"
		if err := cmd.Wait(); err != nil {
			s.stopNote = "exited: " + err.Error()
		}
		close(s.exited)
	}()
	return s, abuseKey, nil
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

// stop sends SIGTERM, then SIGKILL after stopGrace, waits for the exit and
// says how the server ended. Calling it again returns the same note.
func (s *server) stop() string {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopGrace):
			s.cmd.Process.Kill()
			<-s.exited
			s.stopNote = fmt.Sprintf("killed: still running %s after SIGTERM", stopGrace)
		}
	})
	return s.stopNote
}

// logTail returns the end of the server's log, to explain a failed start;
// nothing for a server not started here.
func (s *server) logTail(n int) string {
	if s == nil {
		return ""
	}
	data, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return "\nserver log:\n" + strings.Join(lines[max(0, len(lines)-n):], "\n")
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
