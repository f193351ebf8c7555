// Package logging builds the zap logger of every binary (JSON by default,
// console on a terminal, always to stderr) and the fields that identify a
// member in a log line without revealing its phone.
package logging

import (
	"fmt"
	"os"

	"github.com/mattn/go-isatty"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/rdonboard/rdonboard/internal/phone"
)

// New returns a logger writing to stderr. format is "json", "console" or ""
// (console when stderr is a terminal, else json); level is a zap level name.
func New(format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	if format == "" {
		format = "json"
		if isatty.IsTerminal(os.Stderr.Fd()) {
			format = "console"
		}
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	switch format {
	case "json":
		encoder = zapcore.NewJSONEncoder(enc)
	case "console":
		enc.EncodeLevel = zapcore.CapitalColorLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	core := zapcore.NewCore(encoder, zapcore.Lock(os.Stderr), lvl)
	return zap.New(core, zap.AddCaller()), nil
}

// Member returns the fields that identify a member in every log line about
// it: account ID, masked phone and batch.
func Member(accountID, fullPhone, batch string) []zap.Field {
	return []zap.Field{
		zap.String("account_id", accountID),
		zap.String("phone", phone.Mask(fullPhone)),
		zap.String("batch", batch),
	}
}
