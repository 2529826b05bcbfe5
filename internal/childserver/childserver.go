// Package childserver runs a server program as a child process on a free
// loopback port, for the programs under bench/ that measure one: build
// mlgraph, start it (or another server), wait until it is healthy, stop
// it, show the end of its log when something fails, and read a process's
// memory.
package childserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StopGrace is how long a server gets after SIGTERM before SIGKILL: mlgraph
// lets requests in flight finish and gives running trainings 30 s.
const StopGrace = 45 * time.Second

// Build compiles mlgraph (the module's root package) into dir and returns
// the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "mlgraph")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	gomod, _ := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if mod := strings.TrimSpace(string(gomod)); mod != "" && mod != os.DevNull {
		cmd.Dir = filepath.Dir(mod) // else the working directory
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the server (run this in the mlgraph repository): %v\n%s", err, out)
	}
	return bin, nil
}

// Server is a started child process.
type Server struct {
	// Addr is the loopback address it listens on; URL is http://Addr.
	Addr, URL string
	LogPath   string
	cmd       *exec.Cmd
	exited    chan struct{}
	stopOnce  sync.Once
	stopNote  string
}

// Start picks a free 127.0.0.1 port, makes the command to listen on it
// with command(addr), and runs it with its output in logPath.
func Start(logPath string, command func(addr string) *exec.Cmd) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := command(addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: addr, URL: "http://" + addr, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.stopNote = "stopped cleanly on SIGTERM"
		if err := cmd.Wait(); err != nil {
			s.stopNote = "exited: " + err.Error()
		}
		close(s.exited)
	}()
	return s, nil
}

// PID is the process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// WaitHealthy polls GET /healthz until it answers 200, the process exits,
// ctx ends or limit passes.
func (s *Server) WaitHealthy(ctx context.Context, client *http.Client, limit time.Duration) error {
	return WaitHealthy(ctx, client, s.URL+"/healthz", s.exited, limit)
}

// WaitHealthy polls GET health until it answers 200, exited is closed (nil:
// a server not started here), ctx ends or limit passes.
func WaitHealthy(ctx context.Context, client *http.Client, health string, exited <-chan struct{}, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the server exited before answering %s", health)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer 200 within %s", health, limit)
			}
			return context.Cause(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, then SIGKILL after StopGrace, waits for the exit and
// says how the server ended. Calling it again returns the same note.
func (s *Server) Stop() string {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(StopGrace):
			s.cmd.Process.Kill()
			<-s.exited
			s.stopNote = fmt.Sprintf("killed: still running %s after SIGTERM", StopGrace)
		}
	})
	return s.stopNote
}

// LogTail returns the last n lines of the server's log, to explain a
// failure; nothing for a nil server (one not started here).
func (s *Server) LogTail(n int) string {
	if s == nil {
		return ""
	}
	data, _ := os.ReadFile(s.LogPath)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return "\nserver log:\n" + strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Memory reads a process's resident set and its peak (VmRSS and VmHWM),
// in bytes. Linux only.
func Memory(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the memory of process %d (Linux only): %w", pid, err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %q", pid, line)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmRSS or VmHWM", pid)
	}
	return rss, peak, nil
}
