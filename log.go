package vkv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// loggerAdapter sends Badger's log lines to slog. Badger's info lines are
// chatty (one per compaction), so they go out at debug level.
type loggerAdapter struct{ l *slog.Logger }

func (a *loggerAdapter) logf(level slog.Level, format string, args ...any) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	a.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (a *loggerAdapter) Errorf(f string, v ...any)   { a.logf(slog.LevelError, f, v...) }
func (a *loggerAdapter) Warningf(f string, v ...any) { a.logf(slog.LevelWarn, f, v...) }
func (a *loggerAdapter) Infof(f string, v ...any)    { a.logf(slog.LevelDebug, f, v...) }
func (a *loggerAdapter) Debugf(f string, v ...any)   { a.logf(slog.LevelDebug-4, f, v...) }
