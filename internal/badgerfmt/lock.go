package badgerfmt

import "strings"

// lockedText starts the message of the error badger.Open returns when
// another DB, in this process or another, holds the directory's lock
// (dir_unix.go:52-57 acquireDirectoryLock; the same words at dir_aix.go:66
// and :86).
const lockedText = "Cannot acquire directory lock"

// IsLocked reports whether err, returned by badger.Open, says that another
// DB holds the directory's lock.
//
// Badger has no sentinel for it, and the flock error is lost: y.Wrapf
// formats it into the message with %+v instead of wrapping it
// (y/error.go:55-63; debugMode is false), so neither errors.Is against
// syscall.EWOULDBLOCK nor errors.As finds anything. The message is all
// there is. It is recognised on Unix and AIX only: on Windows and Plan 9
// Badger words it otherwise ("Cannot create lock file",
// dir_windows.go:83-86; "Cannot open pid lock file", dir_plan9.go:63-66),
// and IsLocked is false there.
func IsLocked(err error) bool {
	return err != nil && strings.Contains(err.Error(), lockedText)
}
