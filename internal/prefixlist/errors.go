package prefixlist

import (
	"fmt"
	"strconv"
)

// Error is a problem with a list file, at a line of it (Line 0: the file as
// a whole), so that callers can tell operators where to look.
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Path + ": " + e.Msg
	}
	return e.Path + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

func errorf(path string, line int, format string, args ...any) *Error {
	return &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// maxQuoted bounds how much of a bad field an error repeats: a file of
// 16 MiB on one line should not become a log line of 16 MiB.
const maxQuoted = 64

// quote returns s quoted, cut short if it is long.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxQuoted]) + "..."
}
