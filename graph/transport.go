package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"mlgraph/internal/apperr"
)

// The HTTP transports of /query. gqlgen's own POST and GET transports
// answer a body that is not a GraphQL request with messages that echo the
// whole body and carry no extensions.code (and a JSON body that does not
// decode reaches the extensions without an operation context); these
// answer every such request with a 4xx, a GraphQL error body and the code
// BAD_REQUEST, and decode a good body once.

// exampleRequest is what the errors about the body's shape suggest.
const exampleRequest = `{"query": "{ datasets { totalCount } }"}`

// postJSON is a POST with an application/json body: one GraphQL request
// object (batches are not supported).
type postJSON struct{}

var _ graphql.Transport = postJSON{}

func (postJSON) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" || r.Method != http.MethodPost {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "application/json"
}

func (postJSON) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	raw := &graphql.RawParams{}
	if msg := decodeRequest(r.Body, raw); msg != "" {
		requestError(w, http.StatusBadRequest, msg)
		return
	}
	raw.Headers = r.Header
	raw.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, raw, false)
}

// decodeRequest decodes a JSON request body into raw, or returns what is
// wrong with it, for the client.
func decodeRequest(body io.Reader, raw *graphql.RawParams) string {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	err := dec.Decode(raw)
	var syntax *json.SyntaxError
	var wrongType *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the request body is empty: send a JSON object such as " + exampleRequest
	case errors.As(err, &wrongType) && wrongType.Field == "":
		if wrongType.Value == "array" {
			return "batched requests (a JSON array) are not supported: send one JSON object per request, such as " + exampleRequest
		}
		return fmt.Sprintf("the request body is a JSON %s, not an object: send a JSON object such as %s", wrongType.Value, exampleRequest)
	case errors.As(err, &wrongType):
		return fmt.Sprintf("%q must be %s, not a JSON %s", wrongType.Field, requestFieldKind(wrongType.Field), wrongType.Value)
	case errors.As(err, &syntax):
		return fmt.Sprintf("the request body is not valid JSON: %v (at byte %d)", err, syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body is not valid JSON: it ends too soon"
	case err != nil:
		return "the request body could not be read: " + err.Error()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "the request body holds more than one JSON value: send one JSON object per request"
	}
	return checkRequest(raw, "send a JSON object such as "+exampleRequest)
}

// checkRequest refuses a request with no query (only an automatic
// persisted query may leave it out); hint says how to send one.
func checkRequest(raw *graphql.RawParams, hint string) string {
	if strings.TrimSpace(raw.Query) == "" && raw.Extensions["persistedQuery"] == nil {
		return `the request has no "query": ` + hint
	}
	return ""
}

func requestFieldKind(field string) string {
	switch field {
	case "variables", "extensions":
		return "a JSON object"
	default:
		return "a string"
	}
}

// getQuery is a GET with the request in the URL's query string; it may
// only read (the GraphQL over HTTP specification: GET cannot mutate).
type getQuery struct{}

var _ graphql.Transport = getQuery{}

func (getQuery) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && r.Method == http.MethodGet
}

func (getQuery) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		requestError(w, http.StatusBadRequest, "the URL's query string is malformed: "+err.Error())
		return
	}
	raw := &graphql.RawParams{
		Query:         values.Get("query"),
		OperationName: values.Get("operationName"),
		Headers:       r.Header,
	}
	for name, dst := range map[string]*map[string]any{"variables": &raw.Variables, "extensions": &raw.Extensions} {
		if v := values.Get(name); v != "" {
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(dst); err != nil {
				requestError(w, http.StatusBadRequest, fmt.Sprintf("the %q parameter must be a JSON object: %v", name, err))
				return
			}
		}
	}
	if msg := checkRequest(raw, "add ?query={ datasets { totalCount } } to the URL"); msg != "" {
		requestError(w, http.StatusBadRequest, msg)
		return
	}
	raw.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, raw, true)
}

// execute runs one decoded request and writes its response. readOnly
// refuses anything but a query (a GET).
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, raw *graphql.RawParams, readOnly bool) {
	ctx := r.Context()
	contentType := responseContentType(r)
	w.Header().Set("Content-Type", contentType)
	opCtx, errs := exec.CreateOperationContext(ctx, raw)
	if errs != nil {
		w.WriteHeader(statusFor(errs, contentType))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	if op := opCtx.Operation; readOnly && op != nil && op.Operation != ast.Query {
		w.Header().Set("Allow", http.MethodPost)
		requestError(w, http.StatusMethodNotAllowed, fmt.Sprintf("a %s cannot be sent with GET: send it with POST", op.Operation))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	writeResponse(w, responses(ctx))
}

const graphqlResponseJSON = "application/graphql-response+json"

// responseContentType is application/graphql-response+json when the
// client asks for it before application/json, as gqlgen's transports do.
func responseContentType(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case graphqlResponseJSON:
			return graphqlResponseJSON
		case "application/json", "application/*", "*/*":
			return "application/json"
		}
	}
	return "application/json"
}

// statusFor is 422 (400 for application/graphql-response+json) for a
// request that does not parse or validate, else 200.
func statusFor(errs gqlerror.List, contentType string) int {
	if errcode.GetErrorKind(errs) != errcode.KindProtocol {
		return http.StatusOK
	}
	if contentType == graphqlResponseJSON {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		// The error presenter and the scalars keep responses encodable;
		// this is a bug, not the client's doing.
		writeGraphQLError(w, http.StatusInternalServerError, "internal error: the response could not be encoded", codeInternal, nil)
		return
	}
	w.Write(b)
}

// unsupported answers every request no other transport takes: a method
// or content type /query does not speak.
type unsupported struct{}

var _ graphql.Transport = unsupported{}

func (unsupported) Supports(*http.Request) bool { return true }

func (unsupported) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	switch {
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		requestError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not supported: send a POST with a JSON body such as %s", r.Method, exampleRequest))
	case r.Header.Get("Upgrade") != "":
		requestError(w, http.StatusBadRequest, fmt.Sprintf("upgrade to %q is not supported: subscriptions use a websocket (graphql-transport-ws)", r.Header.Get("Upgrade")))
	default:
		contentType := r.Header.Get("Content-Type")
		if contentType == "" {
			contentType = "none"
		}
		requestError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q is not supported: send application/json (or multipart/form-data for file uploads)", contentType))
	}
}

// requestError answers a request that is not a GraphQL request /query
// accepts.
func requestError(w http.ResponseWriter, status int, msg string) {
	writeGraphQLError(w, status, msg, string(apperr.BadRequest), nil)
}

// codedErrors wraps a gqlgen transport that writes some of its errors
// itself (the multipart upload transport): errors without an
// extensions.code get BAD_REQUEST, as requestError would give them.
type codedErrors struct{ graphql.Transport }

func (t codedErrors) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	cw := &errorCoder{ResponseWriter: w}
	t.Transport.Do(cw, r, exec)
	cw.flush()
}

// errorCoder holds back the body of an error response (status ≥ 400) to
// add codes to it; other responses pass straight through.
type errorCoder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *errorCoder) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	if status < http.StatusBadRequest {
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *errorCoder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status < http.StatusBadRequest {
		return w.ResponseWriter.Write(b)
	}
	return w.body.Write(b)
}

func (w *errorCoder) flush() {
	if w.status < http.StatusBadRequest {
		return
	}
	body := w.body.Bytes()
	var resp graphql.Response
	if json.Unmarshal(body, &resp) == nil && len(resp.Errors) > 0 {
		for _, e := range resp.Errors {
			if e.Extensions["code"] == nil {
				setCode(e, string(apperr.BadRequest))
			}
		}
		if b, err := json.Marshal(resp); err == nil {
			body = b
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.ResponseWriter.WriteHeader(w.status)
	w.ResponseWriter.Write(body)
}
