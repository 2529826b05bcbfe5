package ml

import "fmt"

// InputError is an error caused by the caller's data or parameters: an
// unknown or out-of-range parameter, a target unsuitable for the task, a
// non-finite value, a column of the wrong type or count, and so on. Its
// message names the problem (the parameter and its valid range, the
// column, the row) so that it can be shown to the person who sent the data.
//
// Errors that are not InputErrors are internal failures.
type InputError struct {
	Msg string
}

func (e *InputError) Error() string { return e.Msg }

// inputErrorf returns an *InputError with a formatted message.
func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}
