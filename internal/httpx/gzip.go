package httpx

import (
	"fmt"
	"net/http"

	"github.com/klauspost/compress/gzhttp"
)

// minCompressSize: smaller bodies are sent as they are, since compression
// would save little and cost a round of buffering.
const minCompressSize = 1024

// Compress returns middleware that compresses responses of at least 1 KiB
// when the client accepts it: gzip, or zstd when the client lists it too.
// Already-compressed content types are left alone.
func Compress() (func(http.Handler) http.Handler, error) {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(minCompressSize))
	if err != nil {
		return nil, fmt.Errorf("gzip middleware: %w", err)
	}
	return func(h http.Handler) http.Handler { return wrap(h) }, nil
}
