// Package httpx holds mlgraph's HTTP middleware: request ids, the access
// log, HTTP metrics, CORS and response compression. server.go chains them
// around the routes.
package httpx

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

// recorder remembers the status and body size of a response. It unwraps
// (http.ResponseController) and passes Flush and Hijack through, so
// streaming and websocket upgrades keep working behind it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func newRecorder(w http.ResponseWriter) *recorder { return &recorder{ResponseWriter: w} }

func (r *recorder) WriteHeader(code int) {
	// 1xx other than 101 may precede the final status.
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return conn, rw, nil
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// statusCode is the status sent, 200 if the handler wrote nothing.
func (r *recorder) statusCode() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
