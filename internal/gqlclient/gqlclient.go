// Package gqlclient is the small GraphQL-over-HTTP client of mlgraph's
// measuring programs (bench/): JSON requests, and multipart requests that
// carry files as the GraphQL multipart request spec says.
package gqlclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
)

// Client sends requests to one GraphQL endpoint.
type Client struct {
	HTTP *http.Client
	// URL is the endpoint, e.g. http://127.0.0.1:8080/query.
	URL string
}

// New returns a client of url with http.DefaultClient.
func New(url string) *Client { return &Client{HTTP: http.DefaultClient, URL: url} }

// File is one file of a multipart request, for the variable at Variable:
// "file", or "files.3" for an element of a list.
type File struct {
	Variable, Name string
	Content        []byte
}

// Do sends a query with its variables and decodes the answer's data into
// dst (nil: ignored). The first GraphQL error is returned as an error.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, dst any) error {
	return c.Upload(ctx, query, vars, nil, dst)
}

// Upload is Do with files: a multipart request when there are any. The
// files' variables should be null in vars.
func (c *Client) Upload(ctx context.Context, query string, vars map[string]any, files []File, dst any) error {
	ops, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	body, contentType := ops, "application/json"
	if len(files) > 0 {
		if body, contentType, err = multipartBody(ops, files); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var answer struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, raw)
	}
	if len(answer.Errors) > 0 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, answer.Errors[0].Message)
	}
	if dst == nil {
		return nil
	}
	return json.Unmarshal(answer.Data, dst)
}

// multipartBody lays out the operations, the map of files to variables
// and the files.
func multipartBody(ops []byte, files []File) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	refs := make(map[string][]string, len(files))
	for i, f := range files {
		refs[strconv.Itoa(i)] = []string{"variables." + f.Variable}
	}
	fileMap, err := json.Marshal(refs)
	if err != nil {
		return nil, "", err
	}
	if err := w.WriteField("operations", string(ops)); err != nil {
		return nil, "", err
	}
	if err := w.WriteField("map", string(fileMap)); err != nil {
		return nil, "", err
	}
	for i, f := range files {
		part, err := w.CreateFormFile(strconv.Itoa(i), f.Name)
		if err != nil {
			return nil, "", err
		}
		if _, err := part.Write(f.Content); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}
